package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

type credentialRow struct {
	bun.BaseModel   `bun:"table:webauthn_credentials,alias:c"`
	ID              []byte    `bun:"id,pk"` // raw credential id, ≤ 1023 bytes
	UserID          uuid.UUID `bun:"user_id,notnull"`
	PublicKey       []byte    `bun:"public_key,notnull"` // COSE_Key
	AttestationType string    `bun:"attestation_type,notnull"`
	AAGUID          uuid.UUID `bun:"aaguid,notnull"`
	SignCount       int64     `bun:"sign_count,notnull"`
	Name            string    `bun:"name,nullzero"`
	Transports      string    `bun:"transports,notnull"` // JSON array of strings
	BackupEligible  bool      `bun:"backup_eligible,notnull"`
	BackupState     bool      `bun:"backup_state,notnull"`
	UserVerified    bool      `bun:"user_verified,notnull"`
	LastUsedAt      time.Time `bun:"last_used_at,nullzero"`
	CreatedAt       time.Time `bun:"created_at,notnull"`
	UpdatedAt       time.Time `bun:"updated_at,notnull"`
}

func (r credentialRow) credential() (inkan.Credential, error) {
	var tr []string
	if err := json.Unmarshal([]byte(r.Transports), &tr); err != nil {
		return inkan.Credential{}, fmt.Errorf("store: credential transports: %w", err)
	}
	c := inkan.Credential{
		ID: r.ID, UserID: r.UserID, PublicKey: r.PublicKey, AttestationType: r.AttestationType,
		AAGUID: r.AAGUID, SignCount: uint32(r.SignCount), Name: r.Name, Transports: tr,
		BackupEligible: r.BackupEligible, BackupState: r.BackupState, UserVerified: r.UserVerified,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if !r.LastUsedAt.IsZero() {
		c.LastUsedAt = r.LastUsedAt.UTC()
	}
	return c, nil
}

type ceremonyRow struct {
	bun.BaseModel        `bun:"table:webauthn_session_data,alias:w"`
	ID                   uuid.UUID `bun:"id,pk"`
	Challenge            string    `bun:"challenge,notnull"`
	UserID               uuid.UUID `bun:"user_id,notnull"` // uuid.Nil for discoverable login
	UserVerification     string    `bun:"user_verification,notnull"`
	Operation            string    `bun:"operation,notnull"`
	AllowedCredentialIDs string    `bun:"allowed_credential_ids,notnull"` // JSON array of base64 ids
	SessionData          []byte    `bun:"session_data,notnull"`
	CreatedAt            time.Time `bun:"created_at,notnull"`
	ExpiresAt            time.Time `bun:"expires_at,notnull"`
}

// CreateCeremony stores the state of a begun WebAuthn ceremony (see
// docs/compatibility.md "Ceremonies"). inkan.ErrConflict when its id or challenge exists.
func (s *Store) CreateCeremony(ctx context.Context, c inkan.Ceremony) error {
	ids := c.AllowedCredentialIDs
	if ids == nil {
		ids = [][]byte{}
	}
	allowed, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("store: allowed credential ids: %w", err)
	}
	sd := c.SessionData
	if sd == nil {
		sd = []byte{}
	}
	r := ceremonyRow{
		ID: c.ID, Challenge: c.Challenge, UserID: c.UserID, UserVerification: c.UserVerification,
		Operation: c.Operation, AllowedCredentialIDs: string(allowed), SessionData: sd,
		CreatedAt: utc(c.CreatedAt), ExpiresAt: utc(c.ExpiresAt),
	}
	_, err = s.idb(ctx).NewInsert().Model(&r).Exec(ctx)
	return mapErr(err)
}

// GetCeremonyByChallenge returns the ceremony whose challenge matches
// (inkan.ErrNotFound when none). Expiry is the caller's check.
func (s *Store) GetCeremonyByChallenge(ctx context.Context, challenge string) (inkan.Ceremony, error) {
	var r ceremonyRow
	if err := s.idb(ctx).NewSelect().Model(&r).Where("w.challenge = ?", challenge).Scan(ctx); err != nil {
		return inkan.Ceremony{}, mapErr(err)
	}
	var ids [][]byte
	if err := json.Unmarshal([]byte(r.AllowedCredentialIDs), &ids); err != nil {
		return inkan.Ceremony{}, fmt.Errorf("store: allowed credential ids: %w", err)
	}
	if len(ids) == 0 {
		ids = nil
	}
	return inkan.Ceremony{
		ID: r.ID, Challenge: r.Challenge, UserID: r.UserID, UserVerification: r.UserVerification,
		Operation: r.Operation, AllowedCredentialIDs: ids, SessionData: r.SessionData,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}, nil
}

// deleteCeremony removes the ceremony inside tx; inkan.ErrStale when it was
// already used (no row matched).
func deleteCeremony(ctx context.Context, tx bun.Tx, id uuid.UUID) error {
	res, err := tx.NewDelete().Model((*ceremonyRow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return err
	}
	if n, err := affected(res); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%w: ceremony already used", inkan.ErrStale)
	}
	return nil
}

// toCredentialRow is the row of c (created_at now when zero, updated_at
// created_at when zero).
func toCredentialRow(c inkan.Credential) (credentialRow, error) {
	tr := c.Transports
	if tr == nil {
		tr = []string{}
	}
	transports, err := json.Marshal(tr)
	if err != nil {
		return credentialRow{}, fmt.Errorf("store: transports: %w", err)
	}
	r := credentialRow{
		ID: c.ID, UserID: c.UserID, PublicKey: c.PublicKey, AttestationType: c.AttestationType,
		AAGUID: c.AAGUID, SignCount: int64(c.SignCount), Name: c.Name, Transports: string(transports),
		BackupEligible: c.BackupEligible, BackupState: c.BackupState, UserVerified: c.UserVerified,
		LastUsedAt: utc(c.LastUsedAt), CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt),
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	return r, nil
}

// FinishRegistration deletes the ceremony and inserts the credential in one
// transaction. inkan.ErrStale when the ceremony was already used;
// inkan.ErrConflict when the credential id is registered; inkan.ErrNotFound
// when the user is missing. On any error nothing is written.
func (s *Store) FinishRegistration(ctx context.Context, ceremonyID uuid.UUID, c inkan.Credential) error {
	r, err := toCredentialRow(c)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := deleteCeremony(ctx, tx, ceremonyID); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(&r).Exec(ctx)
		return mapErr(err)
	})
}

// FinishLogin deletes the ceremony and records a verified assertion on the
// credential in one transaction: sign_count, backup_eligible, backup_state,
// last_used_at = now and updated_at = now. The update applies only when
// signCount > stored count or both are 0 (WebAuthn §6.1.1, §7.2 step 22);
// otherwise nothing is written and inkan.ErrStale is returned. ErrStale also
// when the ceremony was already used; inkan.ErrNotFound when the credential
// is missing.
func (s *Store) FinishLogin(ctx context.Context, ceremonyID uuid.UUID, credentialID []byte, signCount uint32, backupEligible, backupState bool, now time.Time) error {
	t := utc(now)
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := deleteCeremony(ctx, tx, ceremonyID); err != nil {
			return err
		}
		q := tx.NewUpdate().Model((*credentialRow)(nil)).
			Set("sign_count = ?", int64(signCount)).
			Set("backup_eligible = ?", backupEligible).
			Set("backup_state = ?", backupState).
			Set("last_used_at = ?", t).
			Set("updated_at = ?", t).
			Where("id = ?", credentialID)
		if signCount == 0 {
			q = q.Where("sign_count = 0")
		} else {
			q = q.Where("sign_count < ?", int64(signCount))
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		exists, err := tx.NewSelect().Model((*credentialRow)(nil)).Where("c.id = ?", credentialID).Exists(ctx)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: credential", inkan.ErrNotFound)
		}
		return fmt.Errorf("%w: sign count did not increase", inkan.ErrStale)
	})
}

// GetCredential returns the credential by raw id (inkan.ErrNotFound).
func (s *Store) GetCredential(ctx context.Context, id []byte) (inkan.Credential, error) {
	var r credentialRow
	if err := s.idb(ctx).NewSelect().Model(&r).Where("c.id = ?", id).Scan(ctx); err != nil {
		return inkan.Credential{}, mapErr(err)
	}
	return r.credential()
}

// ListCredentials returns the user's credentials, oldest first.
func (s *Store) ListCredentials(ctx context.Context, userID uuid.UUID) ([]inkan.Credential, error) {
	var rows []credentialRow
	if err := s.idb(ctx).NewSelect().Model(&rows).Where("c.user_id = ?", userID).OrderExpr("c.created_at ASC, c.id ASC").Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.Credential, 0, len(rows))
	for _, r := range rows {
		c, err := r.credential()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
