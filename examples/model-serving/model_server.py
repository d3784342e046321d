#!/usr/bin/python3
"""A stand-in ML model server, instrumented with prometheus_client as in its classic example.

It serves synthetic inference requests for two models and exposes, on /metrics:
  model_requests_total{model}                  requests served
  model_errors_total{model}                    requests that failed
  model_request_latency_seconds{model} (histogram)

The error ratio is read every 100 ms from --error-rate-file (a number in [0, 1]; absent or
unreadable means --error-rate), so a test or a tutorial reader can raise and lower it:
  echo 0.2 > error_rate
Runs until SIGTERM or SIGINT. Listens on 127.0.0.1 only.
"""
import argparse
import random
import signal
import sys
import time

from prometheus_client import Counter, Histogram, start_http_server

REQUESTS = Counter("model_requests", "Inference requests served.", ["model"])
ERRORS = Counter("model_errors", "Inference requests that failed.", ["model"])
LATENCY = Histogram(
    "model_request_latency_seconds",
    "Time to answer an inference request.",
    ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
MODELS = {"resnet50": 0.030, "bert-base": 0.080}  # Median latency per model, seconds.


def read_error_rate(path, default):
    if not path:
        return default
    try:
        with open(path) as f:
            return min(1.0, max(0.0, float(f.read().strip())))
    except (OSError, ValueError):
        return default


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--requests-per-second", type=float, default=50)
    p.add_argument("--error-rate", type=float, default=0.01)
    p.add_argument("--error-rate-file", default="")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    running = True

    def stop(signum, frame):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rng = random.Random(args.seed)
    start_http_server(args.port, addr="127.0.0.1")
    print(f"model_server: serving metrics on http://127.0.0.1:{args.port}/metrics", flush=True)
    tick = 0.1
    error_rate = args.error_rate
    while running:
        error_rate = read_error_rate(args.error_rate_file, args.error_rate)
        for _ in range(int(args.requests_per_second * tick)):
            model = rng.choice(list(MODELS))
            REQUESTS.labels(model).inc()
            LATENCY.labels(model).observe(rng.lognormvariate(0, 0.5) * MODELS[model])
            if rng.random() < error_rate:
                ERRORS.labels(model).inc()
        time.sleep(tick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
