// Package static is tickerd's live page: the ticker board and chart that a
// browser loads from /, with every script, style sheet and licence it needs
// embedded in the binary. It serves files only; it never talks to the feed
// or the stream, which the page reaches over HTTP like any other client.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/tickerd/tickerd/internal/httpjson"
)

// ContentSecurityPolicy is the policy for the page: everything it loads or
// connects to comes from the origin that served it, no inline script or
// style, no plug-ins, and no framing by other sites.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed index.html style.css favicon.svg
//go:embed app.js board.js chart.js connection.js format.js frame.js recent-ticks.js selection.js sparkline.js sparkline-backfill.js
//go:embed shared-stream.js universe.js watchlist.js market.js
//go:embed transport-poll.js transport-sse.js transport-ws.js sse-worker.js
//go:embed vendor/lightweight-charts.standalone.production.js
//go:embed vendor/lightweight-charts.LICENSE vendor/lightweight-charts.NOTICE vendor/fancy-canvas.LICENSE
var files embed.FS

// asset is one embedded file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler returns the handler that serves the page at / and its assets by
// path, e.g. /app.js. Answers carry a strong ETag, so browsers revalidate
// with If-None-Match and get 304 while the binary is unchanged; the page
// itself also carries ContentSecurityPolicy. Other paths get 404 and
// methods other than GET and HEAD get 405, both as a JSON error.
func Handler() http.Handler {
	assets := make(map[string]asset)
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		assets["/"+name] = asset{
			body:        body,
			contentType: contentType(name),
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic("static: reading embedded files: " + err.Error()) // the files are compiled in; this cannot fail
	}
	assets["/"] = assets["/index.html"]
	delete(assets, "/index.html")

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			httpjson.WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		a, ok := assets[r.URL.Path]
		if !ok {
			httpjson.WriteError(w, http.StatusNotFound, "not found")
			return
		}
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(a.contentType, "text/html") {
			h.Set("Content-Security-Policy", ContentSecurityPolicy)
			h.Set("Referrer-Policy", "no-referrer")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}

// contentType names the media type of an embedded file by its extension;
// licence and notice files are plain text.
func contentType(name string) string {
	switch ext := path.Ext(name); ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "text/plain; charset=utf-8"
	}
}
