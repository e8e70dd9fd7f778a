package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/quic-go/quic-go"
)

// Failure strings: the stable vocabulary of the report (OONI df-007 names
// where one exists). The empty string means success.
const (
	FailTimeout         = "generic_timeout_error"
	FailReset           = "connection_reset"
	FailRefused         = "connection_refused"
	FailEOF             = "eof_error"
	FailHostUnreachable = "host_unreachable"
	FailNetUnreachable  = "network_unreachable"
	FailNXDomain        = "dns_nxdomain_error"
	FailNoAnswer        = "dns_no_answer"
	FailDNSRefused      = "dns_refused_error"
	FailDNSServFail     = "dns_server_failure"
	FailDNSOther        = "dns_rcode_error"
	FailSSLHostname     = "ssl_invalid_hostname"
	FailSSLAuthority    = "ssl_unknown_authority"
	FailSSLCertificate  = "ssl_invalid_certificate"
	FailSSLAlert        = "ssl_alert"
	FailQUICNoVersion   = "quic_incompatible_version"
	FailICMPUnreachable = "icmp_unreachable"
	FailHTTPInvalid     = "http_invalid_response"
	FailInterrupted     = "interrupted"
	FailUnknown         = "unknown_failure"
)

// classify maps a Go error onto the failure vocabulary.
func classify(err error) string {
	if err == nil {
		return ""
	}
	var alert tls.AlertError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var certErr x509.CertificateInvalidError
	var idle *quic.IdleTimeoutError
	var hsIdle *quic.HandshakeTimeoutError
	var vn *quic.VersionNegotiationError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return FailReset
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailRefused
	case errors.Is(err, syscall.EHOSTUNREACH):
		return FailHostUnreachable
	case errors.Is(err, syscall.ENETUNREACH):
		return FailNetUnreachable
	case errors.As(err, &idle), errors.As(err, &hsIdle):
		return FailTimeout
	case errors.As(err, &vn):
		return FailQUICNoVersion
	case errors.As(err, &alert):
		return FailSSLAlert
	case errors.As(err, &hostErr):
		return FailSSLHostname
	case errors.As(err, &authErr):
		return FailSSLAuthority
	case errors.As(err, &certErr):
		return FailSSLCertificate
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return FailNXDomain
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return FailTimeout
	case errors.Is(err, context.Canceled):
		return FailInterrupted
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return FailEOF
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return FailTimeout
	}
	// Some stacks (net/http, quic-go) flatten the errno into text.
	s := err.Error()
	switch {
	case strings.Contains(s, "connection reset"):
		return FailReset
	case strings.Contains(s, "connection refused"):
		return FailRefused
	case strings.Contains(s, "timeout"), strings.Contains(s, "deadline exceeded"):
		return FailTimeout
	case strings.Contains(s, "EOF"):
		return FailEOF
	case strings.Contains(s, "malformed HTTP"):
		return FailHTTPInvalid
	}
	return FailUnknown
}
