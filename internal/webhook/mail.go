package webhook

import (
	"encoding/json"
	"errors"
	"time"
)

// Mail is a passcode mail as the email.send event carries it.
type Mail struct {
	To             string
	Subject        string
	BodyPlain      string
	BodyHTML       string
	Language       string // the locale the mail was written in
	AcceptLanguage string // the request's Accept-Language
	ServiceName    string
	Code           string
	TTL            time.Duration
	ValidUntil     time.Time
	// DeliveredByInkan is false when the app delivers the mail
	// (email_delivery.enabled false).
	DeliveredByInkan bool
}

// mailPayload is the data of email.send (Hanko's contract,
// docs/compatibility.md "Webhooks").
type mailPayload struct {
	Subject          string   `json:"subject"`
	BodyPlain        string   `json:"body_plain"`
	Body             string   `json:"body,omitempty"`
	ToEmailAddress   string   `json:"to_email_address"`
	DeliveredByHanko bool     `json:"delivered_by_hanko"`
	AcceptLanguage   string   `json:"accept_language"`
	Language         string   `json:"language"`
	Type             string   `json:"type"`
	Data             mailData `json:"data"`
}

type mailData struct {
	ServiceName string `json:"service_name"`
	OTPCode     string `json:"otp_code"`
	TTL         int64  `json:"ttl"`         // seconds
	ValidUntil  int64  `json:"valid_until"` // Unix seconds
}

// SealMail returns the email.send data of m sealed with AES-256-GCM under
// the hooks' key: what the event and the deliveries store, so that the
// passcode is never in the clear at rest. It is opened only to build the
// request.
func (s *Service) SealMail(m Mail) ([]byte, error) {
	b, err := json.Marshal(mailPayload{
		Subject: m.Subject, BodyPlain: m.BodyPlain, Body: m.BodyHTML, ToEmailAddress: m.To,
		DeliveredByHanko: m.DeliveredByInkan, AcceptLanguage: m.AcceptLanguage, Language: m.Language, Type: "passcode",
		Data: mailData{ServiceName: m.ServiceName, OTPCode: m.Code, TTL: int64(m.TTL / time.Second), ValidUntil: m.ValidUntil.Unix()},
	})
	if err != nil {
		return nil, err
	}
	return sealAD(s.opts.SecretKeys[0], b, mailAD)
}

// errMailExpired: the passcode of an email.send expired before the
// delivery succeeded; sending it later is of no use.
var errMailExpired = errors.New("the passcode expired before it was delivered")

// openMail returns the JSON data of a sealed email.send, or errMailExpired
// when its passcode is no longer valid at now.
func (s *Service) openMail(sealed []byte, now time.Time) (json.RawMessage, error) {
	b, err := openAD(s.opts.SecretKeys, sealed, mailAD)
	if err != nil {
		return nil, err
	}
	var p mailPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	if !now.Before(time.Unix(p.Data.ValidUntil, 0)) {
		return nil, errMailExpired
	}
	return b, nil
}
