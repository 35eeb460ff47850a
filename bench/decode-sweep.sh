#!/usr/bin/env bash
# Re-runs the README's "Secure decoding" table: one `mpcache bench decode` per group of rows (in the
# order sessions 21–22 ran them), each writing bench/results/decode-…-<tag>.json. About 20 minutes on a 2-core
# machine; run it with nothing else on the machine (the times are wall-clock).
#   bench/decode-sweep.sh [tag]      (default tag: the current commit's short hash)
# `node bench/readme-table.js <tag>` prints the README's table from the files. Then compare with the
# committed files, e.g.
#   npx mpcache bench compare bench/results/decode-gpt2-small-4096-none-s21.json bench/results/decode-gpt2-small-4096-none-<tag>.json
#   npx mpcache bench compare bench/results/decode-gpt2-small-4096-none-<tag>.json --baseline full --goals 2.5,8
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-$(git rev-parse --short HEAD)}"
out=bench/results
bench() { node packages/client/bin/mpcache.js bench decode "$@"; }
bench --model stories15m --seq 64,128,256 --policy full --tokens 3 --json "$out/decode-stories15m-none-$tag.json"
bench --model gpt2-small --seq 128 --policy full --tokens 3 --json "$out/decode-gpt2-small-full-none-$tag.json"
bench --model gpt2-small --seq 512,1024,2048 --policy full,mpcache --tokens 4 --json "$out/decode-gpt2-small-policies-none-$tag.json"
bench --model gpt2-small --seq 1024 --policy full,mpcache,streamingllm,h2o,tova,snapkv,d2o,cake,quest,token-topk --tokens 2 \
  --json "$out/decode-gpt2-small-baselines-1024-$tag.json"
bench --model gpt2-small --seq 4096 --policy full,mpcache --tokens 16 --json "$out/decode-gpt2-small-4096-none-$tag.json"
bench --model gpt2-small --seq 4096 --policy full,mpcache --tokens 8 --net wan --json "$out/decode-gpt2-small-4096-wan-$tag.json"
bench --model gpt2-small --seq 1024 --policy full,mpcache --tokens 3 --net wan --json "$out/decode-gpt2-small-policies-wan-$tag.json"
