// The peer of bench/breaker: github.com/sony/gobreaker/v2, two-step API (Allow + done), on the
// same workload as bench.c: every 100th call fails. Prints the best ns/op of 3 runs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

var errFail = errors.New("fail")

func loop(cb *gobreaker.TwoStepCircuitBreaker[any], ops int) {
	for i := 0; i < ops; i++ {
		done, err := cb.Allow()
		if err != nil {
			continue
		}
		if i%100 == 99 {
			done(errFail)
		} else {
			done(nil)
		}
	}
}

func main() {
	mode := flag.String("mode", "default", "default | window")
	threads := flag.Int("threads", 1, "goroutines")
	ops := flag.Int("ops", 2000000, "calls in all")
	flag.Parse()
	runtime.GOMAXPROCS(*threads)
	best := 0.0
	for run := 0; run < 3; run++ {
		st := gobreaker.Settings{Name: "bench"}
		if *mode == "window" {
			// A 60 s rolling window of 1 s buckets (the peer of a time window).
			st.Interval = 60 * time.Second
			st.BucketPeriod = time.Second
		}
		cb := gobreaker.NewTwoStepCircuitBreaker[any](st)
		var wg sync.WaitGroup
		per := *ops / *threads
		start := time.Now()
		for t := 0; t < *threads; t++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				loop(cb, per)
			}()
		}
		wg.Wait()
		ns := float64(time.Since(start).Nanoseconds()) / float64(per**threads)
		if cb.State() != gobreaker.StateClosed {
			panic("the breaker opened")
		}
		if run == 0 || ns < best {
			best = ns
		}
	}
	fmt.Printf("%.2f\n", best)
}
