package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// TakePasscodeAttempt takes one token from userID's bucket of passcode
// attempts (rate_limiter.passcode_failure_limits: tokens per interval,
// refilled evenly), kept as a GCRA theoretical arrival time in
// users.passcode_failure_tat (microseconds since the Unix epoch). It is one
// conditional UPDATE, so concurrent takes on any number of nodes never
// hand out more than the bucket holds; inside a transaction the row stays
// locked until it ends. It returns ok=false and the time until the next
// token when the bucket is empty; ErrNotFound (wrapped) when the user is
// missing. now is the caller's clock.
func (s *Store) TakePasscodeAttempt(ctx context.Context, userID uuid.UUID, now time.Time, tokens int, interval time.Duration) (ok bool, retryAfter time.Duration, err error) {
	if tokens < 1 || interval/time.Duration(tokens) < time.Microsecond {
		return false, 0, fmt.Errorf("store: passcode attempt bucket of %d per %s", tokens, interval)
	}
	n := now.UnixMicro()
	em := (interval / time.Duration(tokens)).Microseconds()
	iv := interval.Microseconds()
	next := bun.Safe(fmt.Sprintf("(CASE WHEN passcode_failure_tat < %d THEN %d ELSE passcode_failure_tat END) + %d", n, n, em))
	res, err := s.idb(ctx).NewUpdate().Model((*userRow)(nil)).
		Set("passcode_failure_tat = ?", next).
		Where("id = ?", userID).
		Where("? - ? <= ?", next, n, iv).
		Exec(ctx)
	if err != nil {
		return false, 0, mapErr(err)
	}
	if c, err := affected(res); err != nil {
		return false, 0, err
	} else if c == 1 {
		return true, 0, nil
	}
	var tat int64
	if err := s.idb(ctx).NewSelect().Model((*userRow)(nil)).Column("passcode_failure_tat").Where("u.id = ?", userID).Scan(ctx, &tat); err != nil {
		return false, 0, mapErr(err)
	}
	wait := max(tat, n) + em - n - iv
	return false, time.Duration(max(wait, 1)) * time.Microsecond, nil
}

// ReturnPasscodeAttempt gives back a token TakePasscodeAttempt took (the
// attempt turned out to be the right code): the bucket's time moves back by
// one emission interval (interval/tokens).
func (s *Store) ReturnPasscodeAttempt(ctx context.Context, userID uuid.UUID, tokens int, interval time.Duration) error {
	if tokens < 1 {
		return nil
	}
	em := (interval / time.Duration(tokens)).Microseconds()
	_, err := s.idb(ctx).NewUpdate().Model((*userRow)(nil)).
		Set("passcode_failure_tat = passcode_failure_tat - ?", em).
		Where("id = ?", userID).
		Exec(ctx)
	return mapErr(err)
}
