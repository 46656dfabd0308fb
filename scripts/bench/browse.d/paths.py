"""Request mixes for scripts/bench/browse, drawn from the seeded demo catalog (deterministic).

    python scripts/bench/browse.d/paths.py browse|search|uncached OUT [--lines N]

browse:   anonymous shoppers: API list and detail, storefront home, category and product pages;
          products drawn Zipf-like (a few are viewed far more often than the rest).
search:   GET /api/v1/search over >= 1,000 distinct queries (1-2 words of product names, 15% with a
          typo, some with a filter), drawn Zipf-like as real shops' queries are.
uncached: the same queries, each line made unique (a page size nobody else asks for), so no
          answer can come from the result cache: the cost of a search that misses.
"""

from __future__ import annotations

import argparse
import itertools
import random
from urllib.parse import quote_plus

import django

django.setup()

from apps.catalog.models import Category, Product  # noqa: E402

rng = random.Random(11)


def zipf_choices(items: list, k: int, s: float = 1.05) -> list:
    weights = [1.0 / (rank**s) for rank in range(1, len(items) + 1)]
    return rng.choices(items, cum_weights=list(itertools.accumulate(weights)), k=k)


def typo(q: str) -> str:
    i = rng.randrange(len(q))
    return q[:i] + q[i + 1 :] if rng.random() < 0.5 else q[:i] + q[i : i + 2][::-1] + q[i + 2 :]


def queries(n: int = 1200) -> list[str]:
    names = list(Product.objects.order_by("?").values_list("name", flat=True)[:4000])
    words = sorted({w.lower() for name in names for w in name.split() if len(w) > 3 and w.isalpha()})
    rng.shuffle(words)
    found: list[str] = []
    seen: set[str] = set()
    roots = list(Category.objects.filter(depth=1).values_list("slug", flat=True))
    while len(found) < n:
        q = " ".join(rng.sample(words, k=rng.choice((1, 1, 2))))
        if rng.random() < 0.15:
            q = typo(q)
        extra = rng.choice(("",) * 6 + (f"&category={rng.choice(roots)}", "&in_stock=true", "&sort=price"))
        path = f"/api/v1/search?q={quote_plus(q)}{extra}"
        if path not in seen:
            seen.add(path)
            found.append(path)
    return found


def browse(lines: int) -> list[str]:
    slugs = list(Product.objects.filter(is_active=True).order_by("?").values_list("slug", flat=True)[:5000])
    leaves = list(Category.objects.filter(depth=3).values_list("slug", flat=True))
    roots = list(Category.objects.filter(depth=1).values_list("slug", flat=True))
    cats = roots + leaves
    out = []
    for slug in zipf_choices(slugs, lines):
        kind = rng.random()
        if kind < 0.2:
            extra = rng.choice(("", "&sort=price", "&in_stock=true", "&sort=-price"))
            out.append(f"/api/v1/products?category={rng.choice(cats)}{extra}")
        elif kind < 0.4:
            out.append(f"/api/v1/products/{slug}")
        elif kind < 0.5:
            out.append("/")
        elif kind < 0.7:
            out.append(f"/c/{rng.choice(cats)}/" + rng.choice(("", "", "?sort=price", "?page=2")))
        else:
            out.append(f"/p/{slug}/")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("browse", "search", "uncached"))
    parser.add_argument("out")
    parser.add_argument("--lines", type=int, default=20000)
    args = parser.parse_args()
    if args.kind == "browse":
        paths = browse(args.lines)
    elif args.kind == "search":
        paths = zipf_choices(queries(), args.lines)
    else:
        # page_size 13..99 x the distinct queries: every line its own cache entry.
        pool = queries()
        paths = [f"{q}&page_size={13 + i // len(pool)}" for i, q in enumerate(pool * 80)][: args.lines]
        rng.shuffle(paths)
    with open(args.out, "w") as fh:
        fh.write("\n".join(paths) + "\n")
    print(f"{len(paths)} {args.kind} paths, {len(set(paths))} distinct -> {args.out}")


if __name__ == "__main__":
    main()
