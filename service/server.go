package service

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"wrenn.dev/wrenn/proto/wrenn/build/v1/buildv1connect"
)

// Handler serves the API at its connect path (JSON and binary). A
// non-empty token is required as "Authorization: Bearer <token>".
func (s *Service) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	path, h := buildv1connect.NewBuildServiceHandler(s)
	mux.Handle(path, h)
	if token == "" {
		return mux
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code":"unauthenticated","message":"missing or wrong bearer token"}`))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// NewHTTPServer serves h over HTTP/1.1 and h2c.
func NewHTTPServer(h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv.Protocols = &p
	return srv
}

// bearer is the Authorization header value for token.
func bearer(token string) string { return "Bearer " + strings.TrimSpace(token) }
