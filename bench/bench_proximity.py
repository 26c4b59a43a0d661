"""Proximity check of many venues against many sensitive sites: grid index vs pairwise geodesic.

Product: ``inspect_app.registry.geo.venues_near_sites`` (a uniform grid with cells of the radius,
bounding-box pre-filter proven to contain the circle, geodesic verdict) over 200,000 venues and
5,000 sites placed at random (fixed seed) inside Shuozhou's bounds, radius 200 m. Floor to beat:
the pairwise geodesic check of every venue against every site, timed on a random sample of pairs
with the same geodesic call (geographiclib's Inverse, which geopy's ``geodesic`` wraps) and
extrapolated to all 10^9 pairs. The grid's answer is also checked against brute force for a sample
of venues.

Targets (issue 3): grid batch under 5 s, and at least 100x faster than pairwise. Exit status 0
when both are met, 1 when one is missed (or the answers differ), 2 when it could not measure.
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time

from benchlib import EXIT_ERROR, EXIT_MISSED, EXIT_OK, PROJECT_ROOT, BenchError, install_signal_handlers, record

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

NAME = "proximity"
TARGET_SECONDS = 5.0
TARGET_RATIO = 100.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venues", type=int, default=200_000, help="venues (default 200,000)")
    parser.add_argument("--sites", type=int, default=5_000, help="sensitive sites (default 5,000)")
    parser.add_argument("--radius", type=float, default=200.0, help="radius in metres (default 200)")
    parser.add_argument("--seed", type=int, default=20261129, help="random seed (default 20261129)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the grid batch; the median counts")
    parser.add_argument("--sample-pairs", type=int, default=20_000,
                        help="pairs timed to extrapolate the pairwise check (default 20,000)")
    parser.add_argument("--check-venues", type=int, default=300,
                        help="venues whose answer is checked against brute force (default 300)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20,000 venues, 500 sites, 1 run, small samples (the target still applies)")
    parser.add_argument("--target-seconds", type=float, default=TARGET_SECONDS,
                        help=f"maximum seconds of the grid batch (default {TARGET_SECONDS:g})")
    parser.add_argument("--target-ratio", type=float, default=TARGET_RATIO,
                        help=f"minimum pairwise/grid ratio (default {TARGET_RATIO:g})")
    parser.add_argument("--results-dir", default=None, help="where to write the JSON (default bench/results)")
    args = parser.parse_args(argv)
    if args.quick:
        args.venues, args.sites, args.repeat = 20_000, 500, 1
        args.sample_pairs, args.check_venues = 5_000, 100
    if min(args.venues, args.sites, args.repeat, args.sample_pairs) < 1 or args.check_venues < 0 or args.radius <= 0:
        parser.error("--venues, --sites, --repeat, --sample-pairs and --radius must be positive")
    return args


def random_points(rng: random.Random, count: int, bounds, prefix: str) -> list[tuple[str, float, float]]:
    return [(f"{prefix}{n}", rng.uniform(bounds.south, bounds.north), rng.uniform(bounds.west, bounds.east))
            for n in range(count)]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    try:
        from inspect_app.registry import geo
    except ImportError as exc:
        print(f"{NAME}: error: cannot import the product: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        bounds = geo.load_gazetteer().bounds
        rng = random.Random(args.seed)
        venues = random_points(rng, args.venues, bounds, "v")
        sites = random_points(rng, args.sites, bounds, "s")
        pairs = args.venues * args.sites
        print(f"{NAME}: {args.venues:,} venues x {args.sites:,} sites ({pairs:,} pairs) at random in "
              f"Shuozhou's bounds {bounds.to_dict()}, radius {args.radius:g} m, seed {args.seed}", flush=True)

        # -- product: the grid batch (index build included)
        runs = []
        result = None
        for number in range(args.repeat):
            started = time.perf_counter()
            result = geo.venues_near_sites(venues, sites, args.radius)
            runs.append(time.perf_counter() - started)
            print(f"  grid run {number + 1}: {runs[-1]:.3f} s", flush=True)
        grid_seconds = statistics.median(runs)
        near_pairs = sum(len(found) for found in result.values())
        # for information: the other orientation, one query per venue against an index of the sites
        # (what an entry check of a single venue does, repeated)
        started = time.perf_counter()
        site_index = geo.GridIndex(sites, cell_m=args.radius)
        per_venue_hits = sum(1 for _v, lat, lon in venues if site_index.near(lat, lon, args.radius))
        per_venue_seconds = time.perf_counter() - started
        if per_venue_hits != len(result):
            raise BenchError(f"the two orientations disagree: {per_venue_hits} vs {len(result)} venues")

        # -- floor: pairwise geodesic, timed on a random sample of pairs
        sample = [(rng.choice(venues), rng.choice(sites)) for _ in range(args.sample_pairs)]
        started = time.perf_counter()
        for (_v, v_lat, v_lon), (_s, s_lat, s_lon) in sample:
            geo._geodesic_m(v_lat, v_lon, s_lat, s_lon)
        per_pair = (time.perf_counter() - started) / len(sample)
        geopy_sample = sample[: max(1, len(sample) // 10)]
        started = time.perf_counter()
        for (_v, v_lat, v_lon), (_s, s_lat, s_lon) in geopy_sample:
            geo.distance_m((v_lat, v_lon), (s_lat, s_lon))
        per_pair_geopy = (time.perf_counter() - started) / len(geopy_sample)
        pairwise_seconds = per_pair * pairs

        # -- correctness: the grid's answer for a sample of venues against brute force
        # half among the venues the grid found near a site, half at random (mostly far from any)
        by_id = {v[0]: v for v in venues}
        positives = sorted(result)
        half = args.check_venues // 2
        checked = [by_id[v] for v in rng.sample(positives, min(half, len(positives)))]
        checked += rng.sample(venues, min(args.check_venues - len(checked), len(venues)))
        mismatches = []
        for venue_id, v_lat, v_lon in checked:
            expected = []
            for site_id, s_lat, s_lon in sites:
                # the sphere differs from the ellipsoid by < 0.5 %: a 1 % margin only spares far pairs
                if haversine_m(v_lat, v_lon, s_lat, s_lon) <= args.radius * 1.01 + 1:
                    d = geo._geodesic_m(v_lat, v_lon, s_lat, s_lon)
                    if d <= args.radius:
                        expected.append((site_id, d))
            if sorted(expected) != sorted(result.get(venue_id, [])):
                mismatches.append(venue_id)

        ratio = pairwise_seconds / grid_seconds if grid_seconds else float("inf")
        time_met = grid_seconds <= args.target_seconds
        ratio_met = ratio >= args.target_ratio
        correct = not mismatches
        print(f"venues with a site within {args.radius:g} m: {len(result):,} ({near_pairs:,} venue-site pairs)")
        print(f"grid batch seconds: {grid_seconds:.3f}  target <= {args.target_seconds:g}  "
              f"{'met' if time_met else 'MISSED'}")
        print(f"per-venue queries against a site index (information): {per_venue_seconds:.3f} s, "
              f"{per_venue_seconds / args.venues * 1e6:.1f} us per venue")
        print(f"pairwise geodesic: {per_pair * 1e6:.2f} us per pair (geopy.distance.geodesic: "
              f"{per_pair_geopy * 1e6:.2f} us), extrapolated to {pairs:,} pairs: {pairwise_seconds:,.0f} s")
        print(f"ratio (pairwise/grid): {ratio:,.0f}  target >= {args.target_ratio:g}  "
              f"{'met' if ratio_met else 'MISSED'}")
        print(f"brute-force check of {len(checked)} venues: "
              f"{'identical' if correct else f'{len(mismatches)} DIFFER, e.g. {mismatches[:5]}'}")
        path = record(NAME, {
            "target": {"grid_seconds_max": args.target_seconds, "ratio_min": args.target_ratio,
                       "met": time_met and ratio_met and correct},
            "grid_seconds": round(grid_seconds, 4),
            "grid_runs": [round(r, 4) for r in runs],
            "per_venue_queries_seconds": round(per_venue_seconds, 4),
            "pairwise_seconds_per_pair": per_pair,
            "pairwise_geopy_seconds_per_pair": per_pair_geopy,
            "pairwise_seconds_extrapolated": round(pairwise_seconds, 1),
            "ratio": round(ratio, 1),
            "venues_near_a_site": len(result),
            "near_pairs": near_pairs,
            "checked_venues": len(checked),
            "mismatches": mismatches[:20],
            "parameters": {"venues": args.venues, "sites": args.sites, "radius_m": args.radius, "seed": args.seed,
                           "repeat": args.repeat, "sample_pairs": args.sample_pairs, "quick": args.quick,
                           "bounds": bounds.to_dict()},
        }, args.results_dir)
        print(f"recorded {path}")
        return EXIT_OK if time_met and ratio_met and correct else EXIT_MISSED
    except BenchError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{NAME}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
