package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// profileRow is one row of the profile query: the user's columns on every
// row, then an e-mail address (part 1), a credential (part 2) or a
// third-party identity (part 3), NULL when the user has none of that part.
type profileRow struct {
	ID         uuid.UUID `bun:"id"`
	CreatedAt  time.Time `bun:"created_at"`
	UpdatedAt  time.Time `bun:"updated_at"`
	Name       string    `bun:"name"`
	GivenName  string    `bun:"given_name"`
	FamilyName string    `bun:"family_name"`
	Picture    string    `bun:"picture"`
	Part       int       `bun:"part"`

	Email joinedEmail `bun:"embed:e_"`

	CredID              []byte    `bun:"c_id"`
	CredPublicKey       []byte    `bun:"c_public_key"`
	CredAttestationType string    `bun:"c_attestation_type"`
	CredAAGUID          uuid.UUID `bun:"c_aaguid"`
	CredSignCount       int64     `bun:"c_sign_count"`
	CredName            string    `bun:"c_name"`
	CredTransports      string    `bun:"c_transports"`
	CredBackupEligible  bool      `bun:"c_backup_eligible"`
	CredBackupState     bool      `bun:"c_backup_state"`
	CredUserVerified    bool      `bun:"c_user_verified"`
	CredLastUsedAt      time.Time `bun:"c_last_used_at"`
	CredCreatedAt       time.Time `bun:"c_created_at"`
	CredUpdatedAt       time.Time `bun:"c_updated_at"`

	IdentID        uuid.UUID `bun:"i_id"`
	IdentProvider  string    `bun:"i_provider"`
	IdentSubject   string    `bun:"i_subject"`
	IdentEmailID   uuid.UUID `bun:"i_email_id"`
	IdentData      *string   `bun:"i_data"`
	IdentCreatedAt time.Time `bun:"i_created_at"`
	IdentUpdatedAt time.Time `bun:"i_updated_at"`
}

// profileQuery reads a user, their assigned addresses and their credentials
// in one statement. The two-row derived table k splits the result into
// part 1 (one row per address) and part 2 (one row per credential), so the
// LEFT JOINs never multiply each other: n addresses and m credentials give
// max(n,1) + max(m,1) rows. Plain SQL on every dialect.
const profileQuery = profileSelect + `
FROM users AS u
CROSS JOIN (SELECT 1 AS part UNION ALL SELECT 2) AS k` + profileJoins + `
WHERE u.id = ?
ORDER BY k.part, e.created_at, e.id, c.created_at, c.id`

// profileIdentitiesQuery is profileQuery with the third-party identities
// as part 3 (one row per identity, oldest first): max(l,1) rows more for l
// identities.
const profileIdentitiesQuery = profileSelect + `,
 i.id AS i_id, i.provider AS i_provider, i.subject AS i_subject, i.email_id AS i_email_id, i.data AS i_data,
 i.created_at AS i_created_at, i.updated_at AS i_updated_at
FROM users AS u
CROSS JOIN (SELECT 1 AS part UNION ALL SELECT 2 UNION ALL SELECT 3) AS k` + profileJoins + `
LEFT JOIN identities AS i ON k.part = 3 AND i.user_id = u.id
WHERE u.id = ?
ORDER BY k.part, e.created_at, e.id, c.created_at, c.id, i.created_at, i.id`

const profileSelect = `SELECT u.id, u.created_at, u.updated_at, u.name, u.given_name, u.family_name, u.picture, k.part,
 e.id AS e_id, e.user_id AS e_user_id, e.address AS e_address, e.verified AS e_verified,
 CASE WHEN pe.id IS NULL THEN 0 ELSE 1 END AS e_primary, e.created_at AS e_created_at, e.updated_at AS e_updated_at,
 c.id AS c_id, c.public_key AS c_public_key, c.attestation_type AS c_attestation_type, c.aaguid AS c_aaguid,
 c.sign_count AS c_sign_count, c.name AS c_name, c.transports AS c_transports, c.backup_eligible AS c_backup_eligible,
 c.backup_state AS c_backup_state, c.user_verified AS c_user_verified, c.last_used_at AS c_last_used_at,
 c.created_at AS c_created_at, c.updated_at AS c_updated_at`

const profileJoins = `
LEFT JOIN emails AS e ON k.part = 1 AND e.user_id = u.id
LEFT JOIN primary_emails AS pe ON pe.email_id = e.id
LEFT JOIN webauthn_credentials AS c ON k.part = 2 AND c.user_id = u.id`

// Profile returns the user with their assigned e-mail addresses (oldest
// first, Primary filled in) and WebAuthn credentials (oldest first) in one
// statement, Identities nil: GET /me's read (docs/performance.md
// "Budgets"). inkan.ErrNotFound when the user is missing.
func (s *Store) Profile(ctx context.Context, userID uuid.UUID) (inkan.Profile, error) {
	return s.profile(ctx, userID, profileQuery)
}

// ProfileWithIdentities is Profile with the user's third-party identities
// (oldest first, as ListIdentities) in the same one statement: GET /me's
// read when third-party sign-in is configured.
func (s *Store) ProfileWithIdentities(ctx context.Context, userID uuid.UUID) (inkan.Profile, error) {
	p, err := s.profile(ctx, userID, profileIdentitiesQuery)
	if err == nil && p.Identities == nil {
		p.Identities = []inkan.Identity{}
	}
	return p, err
}

func (s *Store) profile(ctx context.Context, userID uuid.UUID, q string) (inkan.Profile, error) {
	var rows []profileRow
	if err := s.queryParam(ctx, &rows, q, userID); err != nil {
		return inkan.Profile{}, mapErr(err)
	}
	if len(rows) == 0 {
		return inkan.Profile{}, fmt.Errorf("%w: user", inkan.ErrNotFound)
	}
	u := userRow{
		ID: rows[0].ID, CreatedAt: rows[0].CreatedAt, UpdatedAt: rows[0].UpdatedAt, Name: rows[0].Name,
		GivenName: rows[0].GivenName, FamilyName: rows[0].FamilyName, Picture: rows[0].Picture,
	}
	p := inkan.Profile{User: u.user(), Emails: []inkan.Email{}, Credentials: []inkan.Credential{}}
	for _, r := range rows {
		switch {
		case r.Part == 1 && r.Email.ID != uuid.Nil:
			p.Emails = append(p.Emails, r.Email.email())
		case r.Part == 2 && r.CredID != nil:
			c, err := credentialRow{
				ID: r.CredID, UserID: u.ID, PublicKey: r.CredPublicKey, AttestationType: r.CredAttestationType,
				AAGUID: r.CredAAGUID, SignCount: r.CredSignCount, Name: r.CredName, Transports: r.CredTransports,
				BackupEligible: r.CredBackupEligible, BackupState: r.CredBackupState, UserVerified: r.CredUserVerified,
				LastUsedAt: r.CredLastUsedAt, CreatedAt: r.CredCreatedAt, UpdatedAt: r.CredUpdatedAt,
			}.credential()
			if err != nil {
				return inkan.Profile{}, err
			}
			p.Credentials = append(p.Credentials, c)
		case r.Part == 3 && r.IdentID != uuid.Nil:
			p.Identities = append(p.Identities, identityRow{
				ID: r.IdentID, Provider: r.IdentProvider, Subject: r.IdentSubject, UserID: u.ID, EmailID: r.IdentEmailID,
				Data: r.IdentData, CreatedAt: r.IdentCreatedAt, UpdatedAt: r.IdentUpdatedAt,
			}.identity())
		}
	}
	return p, nil
}
