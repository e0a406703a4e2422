package passcode

import "testing"

// TestGenerateCodeUniform draws 20000 codes and checks that each is
// CodeLength ASCII digits and that, at every position, the ten digits are
// equally likely: Pearson's chi-square over the 10 bins (9 degrees of
// freedom, expected 2000 per bin) stays below 45, which a uniform generator
// exceeds with probability about 1e-6 per position. A biased generator
// (e.g. modulo bias from a narrow source, or a digit position stuck or
// skewed by a few percent) fails it.
func TestGenerateCodeUniform(t *testing.T) {
	const (
		draws    = 20000
		expected = float64(draws) / 10
		maxChi2  = 45.0 // χ²(9 df) upper tail ≈ 1e-6
	)
	var counts [CodeLength][10]int
	for range draws {
		code, err := generateCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != CodeLength {
			t.Fatalf("code %q has %d bytes, want %d", code, len(code), CodeLength)
		}
		for i := range len(code) {
			c := code[i]
			if c < '0' || c > '9' {
				t.Fatalf("code %q has a non-digit at %d", code, i)
			}
			counts[i][c-'0']++
		}
	}
	for pos, bins := range counts {
		var chi2 float64
		for _, n := range bins {
			d := float64(n) - expected
			chi2 += d * d / expected
		}
		if chi2 >= maxChi2 {
			t.Errorf("digit position %d: counts %v, χ² = %.1f ≥ %.0f: not uniform", pos, bins, chi2, maxChi2)
		} else {
			t.Logf("digit position %d: χ² = %.1f", pos, chi2)
		}
	}
}
