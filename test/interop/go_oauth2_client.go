// Drives golang.org/x/oauth2's jwt package (Debian's golang-golang-x-oauth2-dev), unmodified, for
// go-oauth2.test.ts. Built in GOPATH mode against Debian's source tree (/usr/share/gocode).
//
// Reads one JSON object on stdin naming the server and the keys, runs the token requests below
// with jwt.Config.TokenSource, and prints one JSON line per request: what the package sent (the
// decoded header and claims of its assertion, and the form's grant_type) and what came back (the
// access token, or the HTTP status and OAuth error).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

type input struct {
	TokenEndpoint string   `json:"token_endpoint"`
	Issuer        string   `json:"issuer"`
	Email         string   `json:"email"`
	PrivateKey    string   `json:"private_key"`
	OtherKey      string   `json:"other_key"`
	Scopes        []string `json:"scopes"`
	Subject       string   `json:"subject"`
}

type decoded struct {
	Header map[string]interface{} `json:"header"`
	Claims map[string]interface{} `json:"claims"`
}

type step struct {
	Step        string   `json:"step"`
	AccessToken string   `json:"access_token,omitempty"`
	TokenType   string   `json:"token_type,omitempty"`
	Status      int      `json:"status,omitempty"`
	Error       string   `json:"error,omitempty"`
	Failure     string   `json:"failure,omitempty"`
	GrantType   string   `json:"grant_type,omitempty"`
	Assertion   *decoded `json:"assertion,omitempty"`
	Requests    int      `json:"requests"`
}

// recorder keeps the form of every request the package sends, then lets it through unchanged.
type recorder struct {
	forms []url.Values
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		form, _ := url.ParseQuery(string(body))
		r.forms = append(r.forms, form)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return http.DefaultTransport.RoundTrip(req)
}

func decodePart(part string) map[string]interface{} {
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return nil
	}
	var out map[string]interface{}
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return out
}

func run(name string, conf *jwt.Config, tokens int) step {
	rec := &recorder{}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: rec})
	result := step{Step: name}
	// TokenSource caches the token it got: asking again must not send another request.
	source := conf.TokenSource(ctx)
	var token *oauth2.Token
	var err error
	for i := 0; i < tokens && err == nil; i++ {
		token, err = source.Token()
	}
	if err == nil {
		result.AccessToken = token.AccessToken
		result.TokenType = token.TokenType
	} else {
		var retrieve *oauth2.RetrieveError
		if errors.As(err, &retrieve) {
			result.Status = retrieve.Response.StatusCode
			var body struct {
				Error string `json:"error"`
			}
			json.Unmarshal(retrieve.Body, &body)
			result.Error = body.Error
		} else {
			result.Failure = err.Error()
		}
	}
	result.Requests = len(rec.forms)
	if len(rec.forms) > 0 {
		form := rec.forms[len(rec.forms)-1]
		result.GrantType = form.Get("grant_type")
		if parts := strings.Split(form.Get("assertion"), "."); len(parts) == 3 {
			result.Assertion = &decoded{Header: decodePart(parts[0]), Claims: decodePart(parts[1])}
		}
	}
	return result
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	base := func() *jwt.Config {
		return &jwt.Config{Email: in.Email, PrivateKey: []byte(in.PrivateKey), Scopes: in.Scopes, TokenURL: in.TokenEndpoint}
	}
	steps := []step{}

	// The package's defaults: aud = TokenURL.
	steps = append(steps, run("token_url_audience", base(), 1))

	// Config.Audience names the authorization server's issuer identifier; asked twice, one request.
	withIssuer := base()
	withIssuer.Audience = in.Issuer
	steps = append(steps, run("issuer_audience", withIssuer, 2))

	// Subject: a token for a user (delegation); PrivateKeyID becomes the header's kid.
	delegation := base()
	delegation.Audience = in.Issuer
	delegation.Subject = in.Subject
	delegation.PrivateKeyID = "go-key-1"
	steps = append(steps, run("delegation", delegation, 1))

	// Signed with a key the issuer is not registered with.
	other := base()
	other.Audience = in.Issuer
	other.PrivateKey = []byte(in.OtherKey)
	steps = append(steps, run("other_key", other, 1))

	out := json.NewEncoder(os.Stdout)
	for _, s := range steps {
		if err := out.Encode(s); err != nil {
			os.Exit(1)
		}
	}
}
