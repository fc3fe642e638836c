package account

import (
	"encoding/json"
	"strconv"
	"strings"
)

// OAuth2Refusal explains the error challenge of a refused XOAUTH2 or
// OAUTHBEARER login, a JSON object such as {"status":"invalid_token",
// "scope":"mail"} (RFC 7628). XOAUTH2 servers put an HTTP status in
// "status"; it is named by its RFC 6750 error code too, so both mechanisms
// say invalid_token for a token that expired or was revoked.
func OAuth2Refusal(challenge string) string {
	var e struct {
		Status string `json:"status"`
		Scope  string `json:"scope"`
	}
	if err := json.Unmarshal([]byte(challenge), &e); err != nil || e.Status == "" {
		return "the server says " + strconv.Quote(strings.TrimSpace(challenge))
	}
	reason := e.Status
	if code, ok := bearerErrors[e.Status]; ok {
		reason = code + " (status " + e.Status + ")"
	}
	if e.Scope != "" {
		reason += ", scope " + strconv.Quote(e.Scope)
	}
	return "the server's reason: " + reason
}

// bearerErrors are the RFC 6750 error codes of the HTTP statuses XOAUTH2
// servers report.
var bearerErrors = map[string]string{
	"400": "invalid_request",
	"401": "invalid_token",
	"403": "insufficient_scope",
}
