# The scorecrl image for sweeps on Kubernetes (scorecrl k8s init), built from a
# checkout of the repository with nothing else beside it:
#   docker build -t scorecrl:0.1.0 .
# The build stage installs the tools, compiles the native addon into a
# portable prebuild (baseline x86-64 or arm64, no BLAS) and packs the package;
# the runtime stage installs that tarball, so it holds no compiler and no
# sources. .dockerignore lets only what the build reads into the context.
# NODE_IMAGE and RUNTIME_IMAGE name the base images: give a mirror's
# (--build-arg NODE_IMAGE=registry.example.org/node:20-bookworm) where the
# public registry is out of reach.
ARG NODE_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# node-gyp builds against the headers of the node in the image (no download).
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build:ts \
 && npm run build:prebuilds \
 && npm pack --pack-destination /tmp

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /tmp/scorecrl-*.tgz /tmp/
# --ignore-scripts: the tarball's prebuild is loaded as it is, nothing is compiled;
# the build fails here if the native core does not load.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund /tmp/scorecrl-*.tgz \
 && rm /tmp/scorecrl-*.tgz \
 && SCORECRL_BACKEND=native node node_modules/scorecrl/bin/scorecrl.js info
ENV PATH=/app/node_modules/.bin:$PATH
ENTRYPOINT ["scorecrl"]
CMD ["--help"]
