# The perennial worker image (docker-compose.yml's `worker` service).
FROM node:20-bookworm
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 build-essential git && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
ENV PERENNIAL_HOME=/data/perennial
CMD ["npm", "run", "worker"]
