# One image for the three servers of docker-compose.yml (dealer, p0, p1): the monorepo, built.
FROM node:20
WORKDIR /app
COPY . .
# npm ci builds everything through the root package's `prepare` script (npm run build)
RUN npm ci
# Inside a container, listen on every interface (the default elsewhere is 127.0.0.1).
ENV MPCACHE_HOST=0.0.0.0
# The allocator's settings the bin would relaunch with (packages/client/src/runtime/malloc-tunables.ts):
# per-token buffers reused instead of mapped and faulted in again.
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824
# The `mpcache` CLI (what `npx mpcache` runs on a host), called directly: no bin-link lookup at start,
# with the runtime V8 flags the bin would relaunch with (packages/client/src/runtime/node-flags.ts).
ENTRYPOINT ["node", "--single-threaded-gc", "--no-incremental-marking", "packages/client/dist/cli.js"]
CMD ["serve"]
