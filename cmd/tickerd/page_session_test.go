package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPageShowsAHaltedSymbol halts symbols for news twice a second of
// real time: the page marks a halted symbol's row, says so above its
// chart, and draws a trading symbol's LULD bands on the chart.
func TestPageShowsAHaltedSymbol(t *testing.T) {
	td := startPageServer(t, "-halt-rate", "360", "-clock-speed", "20", "-rate", "200")
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/"))

	p.waitFor("a halted symbol's row marked", `(() => {
		const h = tickerdMarket.halted;
		return h.length > 0 && h.some((s) => {
			const tr = document.querySelector('#rows tr[data-sym="' + s + '"]');
			return tr && tr.dataset.halted === 'halted' &&
				getComputedStyle(tr.querySelector('.c-sym'), '::after').content.includes('halted');
		});
	})()`, 20*time.Second)
	p.waitFor("the market trading around the clock in the header",
		`document.getElementById('market').textContent === 'Trading around the clock'`, 10*time.Second)

	sym := eval[string](p, `tickerdMarket.halted.find((s) => document.querySelector('#rows tr[data-sym="' + s + '"]'))`)
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows tr[data-sym=%q]`, sym))))
	p.waitFor("the halt above the chart", fmt.Sprintf(`tickerd.selected === %q &&
		(!tickerdMarket.halted.includes(%[1]q) || (() => {
			const el = document.getElementById('chart-halt');
			return !el.hidden && el.textContent === 'Halted · T1';
		})())`, sym), 10*time.Second)

	// A trading symbol with bands gets them drawn on its chart.
	trading := eval[string](p, `Object.keys(tickerdMarket.bands).find((s) => !tickerdMarket.halted.includes(s) && document.querySelector('#rows tr[data-sym="' + s + '"]')) || ''`)
	if trading == "" {
		t.Fatalf("no trading symbol with bands; market %s", eval[string](p, `JSON.stringify({halted: tickerdMarket.halted, bands: tickerdMarket.bands})`))
	}
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows tr[data-sym=%q]`, trading))))
	p.waitFor("the selected symbol's bands on the chart", fmt.Sprintf(`tickerd.selected === %q && tickerd.chartLoaded &&
		(tickerdMarket.halted.includes(%[1]q) || (() => {
			const b = tickerdMarket.bands[%[1]q];
			return b && tickerdMarket.chartBands === b.lower + '/' + b.upper;
		})())`, trading), 10*time.Second)
	if got := eval[int](p, `tickerd.gaps`); got != 0 {
		t.Errorf("the page counted %d gaps in the sequence of ticks, statuses and bands", got)
	}
	p.checkNoProblems()
}

// TestPageShowsTheClosedMarket opens the page on Christmas Day: the
// header says the market is closed until Monday's open, and nothing trades.
func TestPageShowsTheClosedMarket(t *testing.T) {
	td := startPageServer(t, "-session", "exchange", "-clock-start", "2026-12-25T10:00:00-05:00")
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/"))
	p.waitFor("the closed market in the header", `(() => {
		const el = document.getElementById('market');
		return el && el.dataset.session === 'closed' && el.textContent === 'Market closed · opens in 2d 23h';
	})()`, 10*time.Second)
	p.waitFor("the board", `tickerd.symbols.length > 0 && tickerd.snapshots > 0`, 10*time.Second)
	if got := eval[int](p, `tickerd.ticksSeen`); got != 0 {
		t.Errorf("the page saw %d ticks on a holiday", got)
	}
	p.checkNoProblems()
}
