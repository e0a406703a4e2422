package thirdparty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"golang.org/x/oauth2"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// GitHub is OAuth 2.0 without OpenID Connect (GitHub Docs "Authorizing
// OAuth apps"): no ID tokens; the redirect flow reads the REST API's
// GET /user (the numeric id is the subject) and GET /user/emails (the
// primary address, verified when GitHub says so).
const (
	githubAuthURL  = "https://github.com/login/oauth/authorize"
	githubTokenURL = "https://github.com/login/oauth/access_token"
	githubAPIURL   = "https://api.github.com"
)

// maxAPIBytes caps a GitHub API response.
const maxAPIBytes = 1 << 20

type github struct {
	c Config
	o Options
}

func newGitHub(c Config, o Options) *github {
	c.DisplayName = or(c.DisplayName, "GitHub")
	return &github{c: c, o: o}
}

func (g *github) config() Config { return g.c }

func (g *github) verifyIDToken(context.Context, string, string) (inkan.ProviderUser, error) {
	return inkan.ProviderUser{}, inkan.E(inkan.KindNotFound, "provider not enabled: GitHub issues no ID tokens")
}

func (g *github) oauth(context.Context) (*oauth2.Config, []oauth2.AuthCodeOption, error) {
	ep := oauth2.Endpoint{AuthURL: githubAuthURL, TokenURL: githubTokenURL, AuthStyle: oauth2.AuthStyleInParams}
	return oauthConfig(g.c, ep, []string{"read:user", "user:email"}), nil, nil
}

func (g *github) exchange(ctx context.Context, oc *oauth2.Config, code, verifier, _ string) (inkan.ProviderUser, error) {
	tok, err := oc.Exchange(oauth2Context(ctx, g.o), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			return inkan.ProviderUser{}, &FlowError{Code: ErrorInvalidRequest, Description: "the provider refused the code: " + re.ErrorCode, cause: err}
		}
		return inkan.ProviderUser{}, err
	}
	var user struct {
		ID        int64  `json:"id"`
		Login     string `json:"login"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := g.get(ctx, tok, "/user", &user); err != nil {
		return inkan.ProviderUser{}, err
	}
	if user.ID == 0 {
		return inkan.ProviderUser{}, errors.New("github: GET /user names no id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, tok, "/user/emails", &emails); err != nil {
		return inkan.ProviderUser{}, err
	}
	pu := inkan.ProviderUser{Provider: g.c.ID, Subject: strconv.FormatInt(user.ID, 10), Name: user.Name, Picture: user.AvatarURL}
	for _, e := range emails {
		if e.Primary {
			pu.Email, pu.EmailVerified = e.Email, e.Verified
		}
	}
	return pu, nil
}

// get reads GitHub's REST API path with the access token into v.
func (g *github) get(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, or(g.c.APIURL, githubAPIURL)+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	tok.SetAuthHeader(req)
	resp, err := g.o.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("github: GET %s: status %d", path, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxAPIBytes)).Decode(v)
}
