package account

import "testing"

func TestOAuth2Refusal(t *testing.T) {
	for _, tc := range []struct{ challenge, want string }{
		{`{"status":"401","schemes":"bearer","scope":"mail"}`, `the server's reason: invalid_token (status 401), scope "mail"`},
		{`{"status":"invalid_token"}`, `the server's reason: invalid_token`},
		{`{"status":"403","scope":"https://mail.google.com/"}`, `the server's reason: insufficient_scope (status 403), scope "https://mail.google.com/"`},
		{`{"status":"500"}`, `the server's reason: 500`},
		{"not json \r\n", `the server says "not json"`},
		{`{"schemes":"bearer"}`, `the server says "{\"schemes\":\"bearer\"}"`},
	} {
		if got := OAuth2Refusal(tc.challenge); got != tc.want {
			t.Errorf("OAuth2Refusal(%q) = %q, want %q", tc.challenge, got, tc.want)
		}
	}
}
