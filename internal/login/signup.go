package login

import (
	"context"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// SignUpResult is a sign-up: the user and its address, and a session when
// the user is signed in at once.
type SignUpResult struct {
	User inkan.User
	// Address is the new user's address row (unassigned until its
	// passcode is finalized when verification is required).
	Address inkan.Email
	// SignedIn reports that Result holds a session: without
	// email.require_verification the new user is signed in at once.
	SignedIn bool
	Result
}

// SignUp creates a user with the address rawEmail (POST /users of
// api/openapi.yaml, account.Service.SignUp, event user_created) and, when
// the address is assigned at once (email.require_verification off), signs
// the user in through the completion step — in one transaction: a user is
// never left without the session its response promised. Sign-up records no
// login event of its own (user_created is its event, as in Hanko). Errors
// are account.Service.SignUp's and KindInternal.
func (s *Service) SignUp(ctx context.Context, rawEmail string) (SignUpResult, error) {
	var out SignUpResult
	err := s.journal.Atomically(ctx, func(ctx context.Context) error {
		u, e, err := s.accounts.SignUp(ctx, rawEmail)
		if err != nil {
			return err
		}
		out = SignUpResult{User: u, Address: e}
		if e.UserID != u.ID {
			return nil
		}
		out.SignedIn = true
		out.Result, err = s.complete(ctx, completion{userID: u.ID, known: &e})
		return err
	})
	if err != nil {
		return SignUpResult{}, err
	}
	if err := s.sign(ctx, &out.Result); err != nil {
		return SignUpResult{}, err
	}
	return out, nil
}
