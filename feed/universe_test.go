package feed_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

func TestDefaultUniverse(t *testing.T) {
	u := feed.DefaultUniverse()
	if len(u) < 45 || len(u) > 60 {
		t.Fatalf("len = %d, want about 50", len(u))
	}
	seen := map[string]bool{}
	for _, s := range u {
		if err := feed.CheckSymbol(s.Name); err != nil || seen[s.Name] {
			t.Errorf("%q: bad (%v) or duplicate name", s.Name, err)
		}
		seen[s.Name] = true
		if !(s.Price >= 1 && s.Price <= 5000) {
			t.Errorf("%s: start price %v is not plausible", s.Name, s.Price)
		}
		if !(s.Volatility >= 0.15 && s.Volatility <= 0.70) {
			t.Errorf("%s: volatility %v not in [0.15, 0.70]", s.Name, s.Volatility)
		}
		if s.Drift != 0 {
			t.Errorf("%s: drift %v, want 0", s.Name, s.Drift)
		}
	}
	for _, want := range []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "V"} {
		if !seen[want] {
			t.Errorf("%s missing", want)
		}
	}

	u[0].Price = -1
	if again := feed.DefaultUniverse(); again[0].Price <= 0 {
		t.Error("DefaultUniverse returned a slice shared between calls")
	}
}

func TestParseSymbols(t *testing.T) {
	def := func(name string) feed.Symbol {
		i := slices.IndexFunc(feed.DefaultUniverse(), func(s feed.Symbol) bool { return s.Name == name })
		if i < 0 {
			t.Fatalf("%s is not in the default universe", name)
		}
		return feed.DefaultUniverse()[i]
	}
	named := func(name string, s feed.Symbol) feed.Symbol { s.Name = name; return s }
	tooMany := strings.Repeat("AAPL,", feed.MaxSymbols) + "AAPL"

	tests := []struct {
		spec    string
		want    []feed.Symbol
		wantErr string
	}{
		{spec: "", want: feed.DefaultUniverse()},
		{spec: "AAPL", want: []feed.Symbol{def("AAPL")}},
		{spec: " AAPL , MSFT ", want: []feed.Symbol{def("AAPL"), def("MSFT")}},
		{spec: "ACME=12.50/0.4", want: []feed.Symbol{{Name: "ACME", Price: 12.5, Volatility: 0.4}}},
		{spec: "ACME=12.50/0.4/-0.1", want: []feed.Symbol{{Name: "ACME", Price: 12.5, Volatility: 0.4, Drift: -0.1}}},
		{spec: "AAPL=100/0.2,BRK.B", want: []feed.Symbol{{Name: "AAPL", Price: 100, Volatility: 0.2}, def("BRK.B")}},
		{spec: "X-Y.Z=0.01/5/5", want: []feed.Symbol{{Name: "X-Y.Z", Price: 0.01, Volatility: 5, Drift: 5}}},
		{spec: "A23456789012=1e9/0.1/-5", want: []feed.Symbol{{Name: "A23456789012", Price: 1e9, Volatility: 0.1, Drift: -5}}},
		{spec: "NASDAQ:AAPL,NYSE:IBM", want: []feed.Symbol{named("NASDAQ:AAPL", def("AAPL")), named("NYSE:IBM", def("IBM"))}},
		{spec: "NYSE:BRK.B,BRK.B", want: []feed.Symbol{named("NYSE:BRK.B", def("BRK.B")), def("BRK.B")}},
		{spec: "NASDAQ:AAPL=100/0.2,LSE:ACME=1/1/-1", want: []feed.Symbol{{Name: "NASDAQ:AAPL", Price: 100, Volatility: 0.2}, {Name: "LSE:ACME", Price: 1, Volatility: 1, Drift: -1}}},
		{spec: "AB:C=1/1", want: []feed.Symbol{{Name: "AB:C", Price: 1, Volatility: 1}}},

		{spec: ",", wantErr: "symbol 1: empty item"},
		{spec: "AAPL,", wantErr: "symbol 2: empty item"},
		{spec: "AAPL,,MSFT", wantErr: "symbol 2: empty item"},
		{spec: "aapl", wantErr: `symbol "aapl": lower-case 'a'; names are upper-case`},
		{spec: "1ABC=1/1", wantErr: `symbol "1ABC": ticker "1ABC" does not start with a letter`},
		{spec: "A234567890123=1/1", wantErr: `symbol "A234567890123": ticker "A234567890123" is longer than 12 characters`},
		{spec: "BRK..B=1/1", wantErr: `symbol "BRK..B": ticker "BRK..B" has a '.' that is not between two letters or digits`},
		{spec: "NASDAQ:=1/1", wantErr: `symbol "NASDAQ:": no ticker after ':'`},
		{spec: "=1/1", wantErr: `symbol "": empty`},
		{spec: "NASDAQ:ACME", wantErr: `symbol "NASDAQ:ACME": not in the default universe; give its parameters as NASDAQ:ACME=PRICE/VOLATILITY`},
		{spec: "NASDAQ:AAPL,NASDAQ:AAPL=1/1", wantErr: `symbol "NASDAQ:AAPL": listed twice`},
		{spec: "AAPL,ACME", wantErr: `symbol "ACME": not in the default universe; give its parameters as ACME=PRICE/VOLATILITY`},
		{spec: "AAPL,MSFT,AAPL", wantErr: `symbol "AAPL": listed twice`},
		{spec: "ACME=1/1,ACME=2/1", wantErr: `symbol "ACME": listed twice`},
		{spec: "ACME=12.5", wantErr: `symbol "ACME": parameters "12.5" must be PRICE/VOLATILITY or PRICE/VOLATILITY/DRIFT`},
		{spec: "ACME=1/2/3/4", wantErr: `symbol "ACME": parameters "1/2/3/4" must be`},
		{spec: "ACME=x/0.4", wantErr: `symbol "ACME": price "x" is not a number`},
		{spec: "ACME=1/", wantErr: `symbol "ACME": volatility "" is not a number`},
		{spec: "ACME=1/0.4/up", wantErr: `symbol "ACME": drift "up" is not a number`},
		{spec: "ACME=0/0.4", wantErr: `symbol "ACME": price 0 must be in (0, 1e+09]`},
		{spec: "ACME=-1/0.4", wantErr: `symbol "ACME": price -1 must be in (0, 1e+09]`},
		{spec: "ACME=NaN/0.4", wantErr: `symbol "ACME": price NaN must be`},
		{spec: "ACME=Inf/0.4", wantErr: `symbol "ACME": price +Inf must be`},
		{spec: "ACME=2e9/0.4", wantErr: `symbol "ACME": price 2e+09 must be`},
		{spec: "ACME=1/0", wantErr: `symbol "ACME": volatility 0 must be in (0, 5]`},
		{spec: "ACME=1/5.01", wantErr: `symbol "ACME": volatility 5.01 must be in (0, 5]`},
		{spec: "ACME=1/NaN", wantErr: `symbol "ACME": volatility NaN must be`},
		{spec: "ACME=1/0.4/6", wantErr: `symbol "ACME": drift 6 must be in [-5, 5]`},
		{spec: "ACME=1/0.4/NaN", wantErr: `symbol "ACME": drift NaN must be`},
		{spec: tooMany, wantErr: "too many symbols: 100001, at most 100000"},
		{spec: "@", wantErr: "symbols file: empty path after @"},
		{spec: "synthetic:3", want: feed.DefaultUniverse()[:3]},
		{spec: "synthetic:0", wantErr: "synthetic:0: synthetic universe of 0 symbols: want 1 to 100000"},
		{spec: "synthetic:100001", wantErr: "synthetic universe of 100001 symbols: want 1 to 100000"},
		{spec: "synthetic:", wantErr: `synthetic:: "" is not a number of symbols`},
		{spec: "synthetic:ten", wantErr: `synthetic:ten: "ten" is not a number of symbols`},
		{spec: "synthetic:10/x", wantErr: `synthetic:10/x: seed "x" is not a whole number`},
		{spec: "synthetic:10/-1", wantErr: `synthetic:10/-1: seed "-1" is not a whole number`},
	}
	for _, tt := range tests {
		name := tt.spec
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got, err := feed.ParseSymbols(tt.spec)
			checkParse(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestParseSymbolsFile(t *testing.T) {
	dir := t.TempDir()
	thousandAndOne := make([]feed.Symbol, feed.MaxSymbols+1)
	for i := range thousandAndOne {
		thousandAndOne[i] = feed.Symbol{Name: "S" + strings.Repeat("A", i/26%11) + string(rune('A'+i%26)), Price: 1, Volatility: 1}
	}
	many, err := json.Marshal(thousandAndOne)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		content string
		want    []feed.Symbol
		wantErr string
	}{
		{
			name:    "good",
			content: `[{"name":"ACME","price":12.5,"volatility":0.4},{"name":"AAPL","price":200,"volatility":0.3,"drift":0.05}]`,
			want:    []feed.Symbol{{Name: "ACME", Price: 12.5, Volatility: 0.4}, {Name: "AAPL", Price: 200, Volatility: 0.3, Drift: 0.05}},
		},
		{
			name:    "exchange-prefixed names",
			content: `[{"name":"NASDAQ:AAPL","price":200,"volatility":0.3},{"name":"NYSE:BRK.B","price":460,"volatility":0.2}]`,
			want:    []feed.Symbol{{Name: "NASDAQ:AAPL", Price: 200, Volatility: 0.3}, {Name: "NYSE:BRK.B", Price: 460, Volatility: 0.2}},
		},
		{name: "unknown field", content: `[{"name":"ACME","price":1,"vol":0.4}]`, wantErr: `decode: json: unknown field "vol"`},
		{name: "not an array", content: `{"name":"ACME"}`, wantErr: "decode: json: cannot unmarshal object"},
		{name: "bad json", content: `[{"name":"ACME",]`, wantErr: "decode: invalid character"},
		{name: "empty array", content: `[]`, wantErr: "no symbols"},
		{name: "null", content: `null`, wantErr: "no symbols"},
		{name: "trailing data", content: `[{"name":"ACME","price":1,"volatility":1}] []`, wantErr: "data after the JSON array"},
		{name: "missing volatility", content: `[{"name":"ACME","price":1}]`, wantErr: `symbol "ACME": volatility 0 must be in (0, 5]`},
		{name: "bad name", content: `[{"name":"acme","price":1,"volatility":1}]`, wantErr: `symbol "acme": lower-case 'a'; names are upper-case`},
		{name: "bad exchange", content: `[{"name":"N1:ACME","price":1,"volatility":1}]`, wantErr: `symbol "N1:ACME": exchange "N1" has '1'`},
		{name: "duplicate", content: `[{"name":"A","price":1,"volatility":1},{"name":"A","price":2,"volatility":1}]`, wantErr: `symbol "A": listed twice`},
		{name: "too many", content: string(many), wantErr: "too many symbols: 100001, at most 100000"},
		{name: "too large", content: `[` + strings.Repeat(" ", 16<<20) + `]`, wantErr: "larger than 16777216 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := feed.ParseSymbols("@" + path)
			if tt.wantErr != "" {
				tt.wantErr = "symbols file " + path + ": " + tt.wantErr
			}
			checkParse(t, got, err, tt.want, tt.wantErr)
		})
	}

	t.Run("syntax error is wrapped", func(t *testing.T) {
		_, err := feed.ParseSymbols("@" + filepath.Join(dir, "bad_json.json"))
		var syntax *json.SyntaxError
		if !errors.As(err, &syntax) {
			t.Errorf("err = %v, want a wrapped *json.SyntaxError", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := feed.ParseSymbols("@" + filepath.Join(dir, "nope.json"))
		if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "symbols file: open ") {
			t.Errorf("err = %v, want a wrapped fs.ErrNotExist starting with %q", err, "symbols file: open ")
		}
	})
}

func checkParse(t *testing.T, got []feed.Symbol, err error, want []feed.Symbol, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want it to contain %q", err, wantErr)
		}
		if got != nil {
			t.Errorf("got %v with an error, want nil", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
