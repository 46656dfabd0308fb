"""Writes the request mix for scripts/bench/search: searches and catalog listings over the demo catalog."""

import random
import sys

import django

django.setup()

from apps.catalog.models import Category, Product  # noqa: E402

rng = random.Random(7)
kind, out = sys.argv[1], sys.argv[2]
words = sorted({w for name in Product.objects.values_list("name", flat=True)[:3000] for w in name.split()})
leaves = list(Category.objects.filter(depth=3).values_list("slug", flat=True))
roots = list(Category.objects.filter(depth=1).values_list("slug", flat=True))
paths = []
for _ in range(400):
    if kind == "search":
        q = " ".join(rng.sample(words, k=rng.choice((1, 1, 2))))
        if rng.random() < 0.15:  # a typo
            i = rng.randrange(len(q))
            q = q[:i] + q[i + 1 :]
        extra = rng.choice(
            ("", f"&category={rng.choice(roots)}", "&in_stock=true", "&sort=price", "&min_price=2000&max_price=10000")
        )
        paths.append(f"/api/v1/search?q={q.replace(' ', '+').replace('&', '%26')}{extra}")
    else:
        extra = rng.choice(("", "&sort=price", "&in_stock=true", "&sort=-price&min_price=5000"))
        paths.append(f"/api/v1/products?category={rng.choice(leaves + roots)}{extra}")
with open(out, "w") as fh:
    fh.write("\n".join(paths) + "\n")
print(f"{len(paths)} {kind} paths -> {out}")
