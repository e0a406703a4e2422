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
//
// With keep (the attempt was the right code) the bucket is checked and
// locked the same way, but its token stays: the stored time becomes what a
// take followed by a give-back would leave, max(tat, now), in the same one
// statement.
func (s *Store) TakePasscodeAttempt(ctx context.Context, userID uuid.UUID, now time.Time, tokens int, interval time.Duration, keep bool) (ok bool, retryAfter time.Duration, err error) {
	if tokens < 1 || interval/time.Duration(tokens) < time.Microsecond {
		return false, 0, fmt.Errorf("store: passcode attempt bucket of %d per %s", tokens, interval)
	}
	n := now.UnixMicro()
	em := (interval / time.Duration(tokens)).Microseconds()
	iv := interval.Microseconds()
	base := fmt.Sprintf("(CASE WHEN passcode_failure_tat < %d THEN %d ELSE passcode_failure_tat END)", n, n)
	next := bun.Safe(fmt.Sprintf("%s + %d", base, em))
	set := next
	if keep {
		set = bun.Safe(base)
	}
	res, err := s.idb(ctx).NewUpdate().Model((*userRow)(nil)).
		Set("passcode_failure_tat = ?", set).
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
