// The Go peer of bench/cache-l1: ristretto v2 with the same key space, value size, hit ratio and
// thread counts as bench.c. Usage: cache_l1_peer MODE THREADS OPS, MODE get|set; prints
// "ns_per_op=N hits=H".
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

const (
	keySpace  = 100000
	present   = 90000 // keys 0..present-1 are stored: a uniform lookup hits 90%
	valueSize = 64
)

func main() {
	mode := os.Args[1]
	threads, _ := strconv.Atoi(os.Args[2])
	ops, _ := strconv.Atoi(os.Args[3])
	c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters: keySpace * 10,
		MaxCost:     keySpace * 2,
		BufferItems: 64,
		// every entry costs 1: MaxCost is then an entry bound, like max_entries
		IgnoreInternalCost: true,
	})
	if err != nil {
		panic(err)
	}
	keys := make([]string, keySpace)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%08d", i)
	}
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	for i := 0; i < present; i++ {
		for !c.Set(keys[i], value, 1) {
		}
	}
	c.Wait()
	// The same pseudo-random sequence as bench.c (xorshift64*, fixed seeds per thread).
	seq := make([][]int32, threads)
	per := ops / threads
	for t := 0; t < threads; t++ {
		s := make([]int32, per)
		x := uint64(0x9E3779B97F4A7C15) ^ uint64(t+1)
		for i := range s {
			x ^= x >> 12
			x ^= x << 25
			x ^= x >> 27
			s[i] = int32((x * 2685821657736338717) % keySpace)
		}
		seq[t] = s
	}
	var hits [64]int64
	var wg sync.WaitGroup
	start := time.Now()
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			s := seq[t]
			h := int64(0)
			if mode == "get" {
				for _, k := range s {
					if v, ok := c.Get(keys[k]); ok && len(v) == valueSize {
						h++
					}
				}
			} else {
				for _, k := range s {
					c.Set(keys[k], value, 1)
				}
			}
			hits[t] = h
		}(t)
	}
	wg.Wait()
	if mode == "set" {
		c.Wait()
	}
	elapsed := time.Since(start)
	total := int64(0)
	for _, h := range hits {
		total += h
	}
	fmt.Printf("ns_per_op=%.2f hits=%d\n", float64(elapsed.Nanoseconds())/float64(per*threads), total)
}
