package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/tickerd/tickerd/internal/httpjson"
)

// The contract: what tickerd answers and streams, in the formats that
// tools read. The test suite holds the running server to both.
//
//go:embed openapi.yaml asyncapi.yaml
var contract embed.FS

// ContractContentType is the media type of both documents: YAML (RFC
// 9512), which OpenAPI and AsyncAPI tools read from a URL as from a file.
const ContractContentType = "application/yaml; charset=utf-8"

// OpenAPIDocument returns the OpenAPI 3 document of the REST endpoints, the
// probes, polling and the opening requests of the streams, as served at
// GET /api/openapi.yaml.
func OpenAPIDocument() []byte { return mustRead("openapi.yaml") }

// AsyncAPIDocument returns the AsyncAPI 3 document of the streams, GET
// /events and GET /ws, and every message on them, as served at GET
// /api/asyncapi.yaml.
func AsyncAPIDocument() []byte { return mustRead("asyncapi.yaml") }

// mustRead returns a copy of an embedded document; the names are fixed at
// compile time, so a missing one is a bug in this file.
func mustRead(name string) []byte {
	b, err := contract.ReadFile(name)
	if err != nil {
		panic("api: " + err.Error())
	}
	return bytes.Clone(b)
}

// NewOpenAPIHandler serves GET /api/openapi.yaml.
func NewOpenAPIHandler() http.Handler { return newContractHandler(OpenAPIDocument()) }

// NewAsyncAPIHandler serves GET /api/asyncapi.yaml.
func NewAsyncAPIHandler() http.Handler { return newContractHandler(AsyncAPIDocument()) }

// newContractHandler serves doc as YAML with a strong ETag, so that a
// client revalidates it with If-None-Match (304) instead of fetching it
// again. It needs no token: the contract is no secret.
func newContractHandler(doc []byte) http.Handler {
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	length := strconv.Itoa(len(doc))
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		if ifNoneMatch(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", ContractContentType)
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(doc)
		}
	}))
}

// ifNoneMatch reports whether an If-None-Match header value matches etag
// (RFC 9110, 13.1.2: a list of tags compared weakly, or *).
func ifNoneMatch(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
