'use strict';
// The /cpu work: the same prime count as bench/peers/cpu_work.py, with a limit that takes
// about as long in V8 as the Python limit takes in CPython (~20 ms on the benchmark machine).

const CPU_LIMIT = 80000;

function countPrimes(limit) {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

module.exports = { CPU_LIMIT, countPrimes };
