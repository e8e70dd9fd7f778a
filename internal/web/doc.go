// Package web is Weir's dashboard: one http.Handler serving the UI at /,
// a JSON API under /api/ (docs/api.md) and the Prometheus exposition at
// /metrics.
//
// The UI is plain HTML, CSS and a small vanilla JS file embedded with
// go:embed: no CDN, no npm build. It polls the API every few seconds, so it
// follows a store that `weir run` is writing. Charts are inline SVG whose
// elements carry data-* attributes (series name, point count, total) that
// the headless-Chromium test asserts on.
//
// Hostnames, rule names and policy text in the store are attacker- or
// operator-controlled: the JS sets them with textContent and SVG attributes
// only, never innerHTML, and every response carries a strict
// Content-Security-Policy (scripts and styles from 'self' only), so even a
// bug there cannot run injected script.
//
// The handler only reads the store; it never writes it. It is safe for
// concurrent use.
package web
