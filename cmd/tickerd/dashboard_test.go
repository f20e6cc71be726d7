package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/internal/natstest"
)

// dashboard is the part of a Grafana dashboard the tests look at.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []dashboardPanel `json:"panels"`
}

type dashboardPanel struct {
	ID         int        `json:"id"`
	Type       string     `json:"type"`
	Title      string     `json:"title"`
	Datasource datasource `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string     `json:"refId"`
		Expr       string     `json:"expr"`
		Datasource datasource `json:"datasource"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"` // of a collapsed row
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

const dashboardFile = deployDir + "/grafana/tickerd.json"

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// panelExpr is one PromQL expression of a dashboard panel.
type panelExpr struct{ panel, expr string }

// dashboardExprs returns every panel's expressions, rows' panels included.
func dashboardExprs(t *testing.T, d dashboard) []panelExpr {
	t.Helper()
	var out []panelExpr
	var walk func([]dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			for _, tg := range p.Targets {
				out = append(out, panelExpr{p.Title, tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// grafanaVariables turns the dashboard's variables into what Grafana would
// put in their place for tickerd's job and every instance.
var grafanaVariables = strings.NewReplacer(
	"$__rate_interval", "5s",
	"$job", "tickerd",
	"$instance", ".+",
)

const datasourceVar = "${DS_PROMETHEUS}"

func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != "tickerd" || d.Title == "" {
		t.Errorf("uid %q title %q; want uid tickerd and a title", d.UID, d.Title)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: older than Grafana 9's 36", d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Name == "DS_PROMETHEUS" && v.Query != "prometheus" {
			t.Errorf("DS_PROMETHEUS variable queries %v, want prometheus", v.Query)
		}
	}
	if vars["DS_PROMETHEUS"] != "datasource" || vars["job"] != "query" || vars["instance"] != "query" {
		t.Errorf("variables %v; want DS_PROMETHEUS (datasource), job and instance (query)", vars)
	}

	ids := map[int]bool{}
	type rect struct{ x, y, w, h int }
	var placed []rect
	var graphs int
	var check func([]dashboardPanel)
	check = func(panels []dashboardPanel) {
		for _, p := range panels {
			if p.ID == 0 || ids[p.ID] {
				t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
			}
			ids[p.ID] = true
			g := p.GridPos
			r := rect{g.X, g.Y, g.W, g.H}
			if r.w <= 0 || r.h <= 0 || r.x < 0 || r.x+r.w > 24 {
				t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
			}
			for _, o := range placed {
				if r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h {
					t.Errorf("panel %q at %+v overlaps another at %+v", p.Title, r, o)
				}
			}
			placed = append(placed, r)
			if p.Type == "row" {
				check(p.Panels)
				continue
			}
			graphs++
			if p.Title == "" || len(p.Targets) == 0 {
				t.Errorf("panel %d %q: needs a title and targets", p.ID, p.Title)
			}
			if p.Datasource.UID != datasourceVar {
				t.Errorf("panel %q: datasource %+v, want uid %s", p.Title, p.Datasource, datasourceVar)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("panel %q: target %q with empty expr, or empty or repeated refId", p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if tg.Datasource.UID != datasourceVar || tg.Datasource.Type != "prometheus" {
					t.Errorf("panel %q target %s: datasource %+v", p.Title, tg.RefID, tg.Datasource)
				}
				if strings.Contains(grafanaVariables.Replace(tg.Expr), "$") {
					t.Errorf("panel %q: %s uses a variable the tests do not know", p.Title, tg.Expr)
				}
			}
		}
	}
	check(d.Panels)
	if graphs < 8 {
		t.Errorf("%d graph panels", graphs)
	}

	// What the issue asks the dashboard to show.
	var all strings.Builder
	for _, e := range dashboardExprs(t, d) {
		all.WriteString(e.expr + "\n")
	}
	for _, want := range []string{
		"tickerd_clients{", "tickerd_events_written_total", "tickerd_socket_writes_total",
		"histogram_quantile(0.5, sum by (le) (rate(tickerd_tick_to_wire_seconds_bucket",
		"histogram_quantile(0.99, sum by (le) (rate(tickerd_tick_to_wire_seconds_bucket",
		"tickerd_clients_conflated", "tickerd_events_dropped_total", "tickerd_feed_rate_ticks_per_second",
		"rate(tickerd_feed_ticks_total", "sum by (reason) (rate(tickerd_streams_closed_total",
		// The bus row, for replicas and the publisher.
		"tickerd_bus_connected{", "tickerd_bus_lag_messages{", "tickerd_bus_consumed_sequence{",
		"tickerd_bus_published_sequence{", "rate(tickerd_bus_published_total", "tickerd_bus_reconnects_total",
		"rate(tickerd_bus_publish_retries_total", "rate(tickerd_bus_publish_duplicates_total",
		"tickerd_bus_undecodable_messages_total",
	} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no panel queries %s", want)
		}
	}
}

// metricName matches the names of tickerd's and the Go client's metrics.
var metricName = regexp.MustCompile(`\b(?:tickerd|go|process)_[a-z0-9_]+\b`)

// TestDeployFilesNameExportedMetrics checks that every metric the dashboard
// and the alert rules mention is one a running tickerd exports in one of its
// roles, so that a rename cannot leave a panel or an alert silently empty.
// The bus metrics exist only on a replica and the publisher, so those run
// too, on a real NATS server.
func TestDeployFilesNameExportedMetrics(t *testing.T) {
	ns := natstest.Start(t)
	roles := []struct {
		name string
		td   *tickerd
	}{
		{"all-in-one", startTickerd(t, "-rate", "200")},
		{"publish", startPublisher(t, ns.URL(), 200)},
		{"replica", startReplica(t, ns.URL())},
	}
	exported := map[string][]string{} // metric name → the roles exporting it
	for _, role := range roles {
		for _, name := range exportedNames(scrape(t, role.td)) {
			exported[name] = append(exported[name], role.name)
		}
	}
	// The roles are what the check relies on them to be.
	for name, want := range map[string][]string{
		"tickerd_build_info":            {"all-in-one", "publish", "replica"},
		"tickerd_bus_connected":         {"publish", "replica"},
		"tickerd_bus_lag_messages":      {"replica"},
		"tickerd_bus_published_total":   {"publish"},
		"tickerd_bus_consumed_sequence": {"replica"},
	} {
		if !slices.Equal(exported[name], want) {
			t.Errorf("%s is exported by %v, want %v", name, exported[name], want)
		}
	}

	for _, file := range []string{dashboardFile, deployDir + "/prometheus/alerts.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := metricName.FindAllString(string(b), -1)
		slices.Sort(names)
		names = slices.Compact(names)
		if len(names) < 3 {
			t.Errorf("%s: found only %v", file, names)
		}
		for _, name := range names {
			if len(exported[name]) == 0 {
				t.Errorf("%s names %s, which no tickerd role (all-in-one, publish, replica) exports", filepath.Base(file), name)
			}
		}
	}
}

// exportedNames returns the metric names of a text exposition, with the
// _bucket, _sum and _count series of its histograms and summaries.
func exportedNames(exposition string) []string {
	var names []string
	for _, line := range strings.Split(exposition, "\n") {
		typ, ok := strings.CutPrefix(line, "# TYPE ")
		if !ok {
			continue
		}
		name, kind, _ := strings.Cut(typ, " ")
		names = append(names, name)
		if kind == "histogram" || kind == "summary" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names = append(names, name+suffix)
			}
		}
	}
	return names
}
