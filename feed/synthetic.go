package feed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// syntheticPrefix starts a -symbols spec of a generated universe. It is
// lower-case, so no symbol name (see [CheckSymbol]) can be taken for it.
const syntheticPrefix = "synthetic:"

// syntheticStream is the PCG stream of [SyntheticUniverse]; the seed picks
// the state. It differs from the simulator's, so a universe and a market
// drawn from the same seed are independent.
const syntheticStream = 0x756e697665727365 // "universe"

// SyntheticUniverse returns a universe of n symbols (1 to [MaxSymbols]),
// the same for the same n and seed: the first n of the [DefaultUniverse],
// and past those, generated tickers of 3 to 5 letters (a few with a class
// suffix, like BRK.B) that follow the symbol rule and are all distinct, with
// start prices spread log-normally around $40 (from $1 to $2,000, on the
// cent grid), volatilities from 0.15 to 0.90 and zero drift. The seed is the
// universe's own, not the simulator's, so a publisher and its replicas that
// name the same spec serve the same symbols whatever their -seed.
func SyntheticUniverse(n int, seed uint64) ([]Symbol, error) {
	if n < 1 || n > MaxSymbols {
		return nil, fmt.Errorf("synthetic universe of %d symbols: want 1 to %d", n, MaxSymbols)
	}
	syms := DefaultUniverse()
	if n <= len(syms) {
		return syms[:n:n], nil
	}
	syms = append(make([]Symbol, 0, n), syms...)
	seen := make(map[string]bool, n)
	for _, s := range syms {
		seen[s.Name] = true
	}
	rng := rand.New(rand.NewPCG(seed, syntheticStream))
	var name []byte
	for len(syms) < n {
		name = syntheticTicker(rng, name[:0])
		if seen[string(name)] {
			continue
		}
		s := Symbol{
			Name:       string(name),
			Price:      math.Round(min(max(40*math.Exp(1.2*rng.NormFloat64()), 1), 2000)*100) / 100,
			Volatility: math.Round((0.15+0.75*rng.Float64())*100) / 100,
		}
		seen[s.Name] = true
		syms = append(syms, s)
	}
	return syms, nil
}

// syntheticTicker appends a random ticker to dst: 3 letters (30%), 4 (55%)
// or 5 (15%), one in fifty with a class suffix .A or .B.
func syntheticTicker(rng *rand.Rand, dst []byte) []byte {
	n := 5
	switch u := rng.Float64(); {
	case u < 0.30:
		n = 3
	case u < 0.85:
		n = 4
	}
	for range n {
		dst = append(dst, byte('A'+rng.IntN(26)))
	}
	if rng.IntN(50) == 0 {
		dst = append(dst, '.', byte('A'+rng.IntN(2)))
	}
	return dst
}

// parseSynthetic reads the N or N/SEED of a synthetic:N[/SEED] spec.
func parseSynthetic(arg string) ([]Symbol, error) {
	count, seedText, hasSeed := strings.Cut(arg, "/")
	n, err := strconv.Atoi(count)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %q is not a number of symbols", syntheticPrefix, arg, count)
	}
	seed := uint64(1)
	if hasSeed {
		if seed, err = strconv.ParseUint(seedText, 10, 64); err != nil {
			return nil, fmt.Errorf("%s%s: seed %q is not a whole number from 0 to %d", syntheticPrefix, arg, seedText, uint64(math.MaxUint64))
		}
	}
	syms, err := SyntheticUniverse(n, seed)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", syntheticPrefix, arg, err)
	}
	return syms, nil
}
