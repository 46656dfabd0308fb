"""Demo product photos drawn with Pillow: each product gets a picture of its own kind (a boot for
boots, headphones for headphones) in one of its colours, on a soft studio background.

The seed (demo/seed.py) points every product at `/demo-images/<kind>/<colour>-<n>.jpg` and renders
them once into the shared cache; the view (views.demo_image) serves the cached JPEG and redraws it
only after the cache lost it. Nothing is stored on one server's disk, so every replica serves them.
"""

from __future__ import annotations

import hashlib
import io
import math

from django.core.cache import cache
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFilter

SIZE = (800, 600)
CACHE_TTL = 60 * 60 * 24 * 30

COLOURS = {
    "black": (40, 42, 48), "white": (236, 236, 232), "navy": (34, 52, 94), "grey": (128, 132, 140),
    "red": (196, 48, 52), "green": (52, 128, 76), "blue": (46, 104, 196), "olive": (112, 118, 56),
    "sand": (212, 190, 150), "burgundy": (120, 30, 50), "brown": (120, 78, 44), "tan": (196, 150, 100),
    "silver": (186, 190, 196), "teal": (30, 132, 136), "pink": (226, 140, 170), "gold": (206, 166, 70),
}  # fmt: skip

# Which silhouette a leaf category's products get.
KINDS = {
    "mens-shirts": "shirt", "mens-t-shirts": "tee", "mens-jackets": "jacket", "womens-tops": "tee",
    "dresses": "dress", "womens-jackets": "jacket", "sneakers": "sneaker", "boots": "boot",
    "headphones": "headphones", "speakers": "speaker", "laptops": "laptop", "keyboards": "keyboard",
    "monitors": "monitor", "phone-cases": "phone", "chargers": "charger", "pans": "pan", "knives": "knife",
    "sheets": "sheets", "pillows": "pillow", "lamps": "lamp", "rugs": "rug", "tents": "tent",
    "sleeping-bags": "sleeping-bag", "yoga": "mat", "weights": "dumbbell", "bike-helmets": "helmet",
    "bike-lights": "bike-light", "moisturisers": "jar", "cleansers": "bottle",
}  # fmt: skip


def kind_for(leaf_name: str) -> str:
    return KINDS.get(slugify(leaf_name), "box")


def colour_rgb(name: str) -> tuple[int, int, int]:
    key = slugify(name or "")
    if key in COLOURS:
        return COLOURS[key]
    digest = hashlib.sha1(key.encode()).digest()  # noqa: S324 -- a colour, not security
    return (60 + digest[0] % 150, 60 + digest[1] % 150, 60 + digest[2] % 150)


def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(c * factor))) for c in rgb)


def _soft(box: list[float], opacity: int, blur: float) -> Image.Image:
    """A blurred ellipse mask, drawn at quarter size (blurring full size costs most of the time)."""
    small = Image.new("L", (SIZE[0] // 4, SIZE[1] // 4), 0)
    ImageDraw.Draw(small).ellipse([v / 4 for v in box], fill=opacity)
    return small.filter(ImageFilter.GaussianBlur(blur / 4)).resize(SIZE, Image.Resampling.BILINEAR)


def _background(rgb: tuple[int, int, int], n: int) -> Image.Image:
    # A pale tint of the product colour, lighter at the top, with a floor shadow.
    top = tuple(int(245 - (245 - c) * 0.12) for c in rgb)
    bottom = tuple(int(225 - (225 - c) * 0.22) for c in rgb)
    gradient = Image.linear_gradient("L").resize(SIZE)
    img = Image.composite(Image.new("RGB", SIZE, bottom), Image.new("RGB", SIZE, top), gradient)
    img.paste((0, 0, 0), mask=_soft([220 - n * 6, 470, 580 + n * 6, 520], 90, 18))
    return img


def _garment(d: ImageDraw.ImageDraw, c, dark, *, sleeves: float, length: int, collar: bool, open_front: bool) -> None:
    body = [(300, 150), (500, 150), (520, 160 + length), (280, 160 + length)]
    d.polygon(body, fill=c)
    d.polygon([(300, 150), (230, 175), (185, 175 + 140 * sleeves), (240, 200 + 140 * sleeves), (290, 250)], fill=c)
    d.polygon([(500, 150), (570, 175), (615, 175 + 140 * sleeves), (560, 200 + 140 * sleeves), (510, 250)], fill=c)
    d.chord([355, 120, 445, 185], 0, 180, fill=_shade(c, 1.25) if sum(c) < 200 else _shade(c, 0.8))
    if collar:
        d.polygon([(360, 150), (400, 200), (440, 150), (425, 140), (400, 170), (375, 140)], fill=dark)
    if open_front:
        d.line([(400, 190), (400, 160 + length)], fill=dark, width=6)
        for y in range(215, 140 + length, 45):
            d.ellipse([393, y, 407, y + 14], fill=_shade(dark, 0.7))


def _draw(kind: str, c, n: int) -> Image.Image:
    img = _background(c, n)
    d = ImageDraw.Draw(img)
    dark, light = _shade(c, 0.6), _shade(c, 1.35)
    if kind in ("shirt", "tee", "jacket"):
        _garment(d, c, dark, sleeves=1.0 if kind != "tee" else 0.45, length=300 if kind == "jacket" else 280,
                 collar=kind == "shirt", open_front=kind in ("shirt", "jacket"))  # fmt: skip
    elif kind == "dress":
        d.polygon([(340, 130), (460, 130), (480, 260), (580, 480), (220, 480), (320, 260)], fill=c)
        d.rectangle([330, 250, 470, 270], fill=dark)
        d.line([(355, 130), (345, 95)], fill=c, width=10)
        d.line([(445, 130), (455, 95)], fill=c, width=10)
    elif kind in ("sneaker", "boot"):
        if kind == "boot":
            d.polygon([(290, 150), (420, 150), (430, 330), (560, 360), (590, 420), (260, 420)], fill=c)
            d.line([(300, 180), (410, 180)], fill=dark, width=8)
        else:
            d.polygon([(230, 300), (380, 250), (470, 300), (580, 340), (590, 410), (220, 410)], fill=c)
            for x in range(330, 460, 30):
                d.line([(x, 270 + (x - 330) // 4), (x + 20, 300 + (x - 330) // 4)], fill=light, width=6)
        d.rounded_rectangle([210 if kind == "sneaker" else 250, 405, 600, 440], radius=14, fill=(245, 245, 240))
    elif kind == "headphones":
        d.arc([250, 110, 550, 420], 180, 360, fill=dark, width=28)
        d.rounded_rectangle([215, 260, 305, 420], radius=30, fill=c)
        d.rounded_rectangle([495, 260, 585, 420], radius=30, fill=c)
    elif kind == "speaker":
        d.rounded_rectangle([300, 140, 500, 460], radius=40, fill=c)
        d.ellipse([340, 290, 460, 410], fill=dark)
        d.ellipse([370, 180, 430, 240], fill=dark)
    elif kind in ("laptop", "monitor"):
        d.rounded_rectangle([220, 140, 580, 380], radius=12, fill=dark)
        d.rectangle([240, 160, 560, 360], fill=_shade(c, 1.6))
        if kind == "laptop":
            d.polygon([(180, 395), (620, 395), (650, 430), (150, 430)], fill=c)
        else:
            d.rectangle([385, 380, 415, 440], fill=dark)
            d.rounded_rectangle([320, 435, 480, 455], radius=8, fill=dark)
    elif kind == "keyboard":
        d.rounded_rectangle([160, 260, 640, 420], radius=18, fill=c)
        for row in range(4):
            for col in range(12):
                d.rounded_rectangle([180 + col * 38, 278 + row * 34, 208 + col * 38, 304 + row * 34], 5, fill=light)
    elif kind in ("phone", "charger"):
        if kind == "phone":
            d.rounded_rectangle([320, 110, 480, 450], radius=30, fill=c)
            d.rounded_rectangle([360, 130, 420, 190], radius=14, fill=dark)
        else:
            d.rounded_rectangle([330, 200, 470, 380], radius=24, fill=c)
            d.line([(400, 380), (400, 440), (520, 460)], fill=dark, width=10)
    elif kind in ("pan", "knife"):
        if kind == "pan":
            d.ellipse([190, 200, 470, 420], fill=dark)
            d.ellipse([210, 215, 450, 400], fill=c)
            d.rounded_rectangle([460, 290, 640, 325], radius=14, fill=dark)
        else:
            d.polygon([(180, 320), (520, 280), (540, 310), (200, 340)], fill=(210, 214, 220))
            d.rounded_rectangle([520, 285, 650, 330], radius=14, fill=c)
    elif kind in ("sheets", "pillow", "rug", "mat", "sleeping-bag"):
        if kind == "pillow":
            d.rounded_rectangle([220, 200, 580, 420], radius=70, fill=c)
        elif kind == "rug":
            d.polygon([(170, 420), (300, 240), (630, 240), (560, 420)], fill=c)
            d.polygon([(230, 395), (320, 265), (590, 265), (530, 395)], outline=light, width=8)
        else:
            rolled = kind != "sheets"
            for i in range(1 if rolled else 4):
                box = [230, 260 + i * 40 - 120 * rolled, 570, 300 + i * 40 + 60 * rolled]
                d.rounded_rectangle(box, radius=20, fill=_shade(c, 1 - i * 0.08))
            if kind in ("mat", "sleeping-bag"):
                d.ellipse([520, 170, 600, 380], fill=dark)
    elif kind == "lamp":
        d.polygon([(320, 150), (480, 150), (530, 280), (270, 280)], fill=c)
        d.rectangle([392, 280, 408, 420], fill=dark)
        d.ellipse([320, 410, 480, 450], fill=dark)
    elif kind == "tent":
        d.polygon([(170, 430), (400, 140), (630, 430)], fill=c)
        d.polygon([(350, 430), (400, 300), (450, 430)], fill=dark)
    elif kind == "dumbbell":
        d.rectangle([270, 300, 530, 325], fill=(150, 150, 155))
        for x in (210, 250, 510, 550):
            d.rounded_rectangle([x, 240, x + 40, 385], radius=8, fill=c)
    elif kind == "helmet":
        d.chord([230, 170, 570, 470], 180, 360, fill=c)
        for x in range(300, 520, 55):
            d.line([(x, 215), (x + 10, 320)], fill=dark, width=12)
        d.line([(240, 320), (560, 320)], fill=dark, width=10)
    elif kind == "bike-light":
        d.rounded_rectangle([300, 240, 500, 360], radius=40, fill=c)
        d.ellipse([455, 255, 545, 345], fill=(255, 236, 150))
        d.rectangle([380, 360, 420, 430], fill=dark)
    elif kind in ("jar", "bottle"):
        if kind == "jar":
            d.rounded_rectangle([290, 260, 510, 440], radius=30, fill=c)
            d.rounded_rectangle([280, 220, 520, 270], radius=12, fill=dark)
        else:
            d.rounded_rectangle([330, 200, 470, 450], radius=36, fill=c)
            d.rectangle([375, 140, 425, 205], fill=dark)
            d.rectangle([340, 290, 460, 360], fill=light)
    else:
        d.rounded_rectangle([260, 200, 540, 440], radius=16, fill=c)
        d.polygon([(260, 200), (330, 140), (610, 140), (540, 200)], fill=light)
    # A little highlight so the picture does not look flat; n varies it between products.
    img.paste((255, 255, 255), mask=_soft([250 + 20 * math.sin(n), 100, 420, 230], 40, 40))
    return img


def image_url(*, kind: str, colour: str, n: int) -> str:
    return f"/demo-images/{kind}/{slugify(colour) or 'plain'}-{n % 3}.jpg"


def _key(kind: str, name: str) -> str:
    return f"demo-image:v2:{kind}:{name}"


def render_jpeg(kind: str, name: str) -> bytes:
    colour, _, n = name.rpartition("-")
    img = _draw(kind, colour_rgb(colour), int(n) if n.isdigit() else 0)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def image_get(kind: str, name: str) -> bytes | None:
    """The cached JPEG, drawn and cached on a miss; None for a kind we do not draw."""
    if kind not in set(KINDS.values()) | {"box"}:
        return None
    key = _key(kind, name)
    data = cache.get(key)
    if data is None:
        data = render_jpeg(kind, name)
        cache.set(key, data, CACHE_TTL)
    return data


def warm(urls: set[str]) -> int:
    """Draw every image the seed refers to now, so shoppers never wait for one."""
    for url in urls:
        kind, name = url.removeprefix("/demo-images/").removesuffix(".jpg").split("/", 1)
        image_get(kind, name)
    return len(urls)
