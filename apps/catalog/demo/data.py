"""Vocabulary for the demo catalog: a category tree whose leaves say what their products are
called, which options their variants have and what they cost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Leaf:
    name: str
    nouns: tuple[str, ...]
    options: dict[str, tuple[str, ...]]
    price: tuple[int, int]  # dollars, low..high
    specs: dict[str, tuple[str, ...]]


SIZES = ("XS", "S", "M", "L", "XL")
SHOE_SIZES = ("7", "8", "9", "10", "11", "12")
COLOURS = ("Black", "White", "Navy", "Grey", "Red", "Green", "Blue", "Olive", "Sand", "Burgundy")
FABRICS = ("Cotton", "Organic cotton", "Linen", "Merino wool", "Recycled polyester", "Denim")


def _apparel(name: str, nouns: tuple[str, ...], price: tuple[int, int]) -> Leaf:
    return Leaf(
        name,
        nouns,
        {"Size": SIZES, "Colour": COLOURS},
        price,
        {"Material": FABRICS, "Fit": ("Regular", "Slim", "Relaxed")},
    )


TREE: dict[str, dict[str, list[Leaf]]] = {
    "Clothing": {
        "Men": [
            _apparel(
                "Men's Shirts", ("Oxford Shirt", "Flannel Shirt", "Linen Shirt", "Denim Shirt", "Polo Shirt"), (25, 90)
            ),
            _apparel("Men's T-Shirts", ("Crew Tee", "V-Neck Tee", "Pocket Tee", "Henley", "Long Sleeve Tee"), (12, 40)),
            _apparel("Men's Jackets", ("Bomber Jacket", "Rain Jacket", "Puffer Jacket", "Field Jacket"), (60, 280)),
        ],
        "Women": [
            _apparel("Women's Tops", ("Wrap Top", "Blouse", "Tank Top", "Cardigan", "Turtleneck"), (18, 85)),
            _apparel("Dresses", ("Midi Dress", "Shirt Dress", "Slip Dress", "Sweater Dress"), (35, 160)),
            _apparel("Women's Jackets", ("Trench Coat", "Denim Jacket", "Quilted Jacket", "Wool Coat"), (70, 320)),
        ],
        "Shoes": [
            Leaf(
                "Sneakers",
                ("Court Sneaker", "Running Shoe", "Trail Runner", "Canvas Sneaker"),
                {"Size": SHOE_SIZES, "Colour": ("Black", "White", "Grey", "Blue")},
                (45, 180),
                {"Upper": ("Leather", "Mesh", "Canvas", "Suede"), "Sole": ("Rubber", "EVA foam")},
            ),
            Leaf(
                "Boots",
                ("Chelsea Boot", "Hiking Boot", "Work Boot", "Desert Boot"),
                {"Size": SHOE_SIZES, "Colour": ("Brown", "Black", "Tan")},
                (80, 260),
                {"Upper": ("Leather", "Suede", "Nubuck"), "Waterproof": ("Yes", "No")},
            ),
        ],
    },
    "Electronics": {
        "Audio": [
            Leaf(
                "Headphones",
                ("Wireless Headphones", "Noise Cancelling Headphones", "Studio Headphones", "Earbuds"),
                {"Colour": ("Black", "White", "Silver", "Midnight Blue")},
                (30, 400),
                {
                    "Connectivity": ("Bluetooth 5.3", "Wired", "Bluetooth 5.0"),
                    "Battery life": ("20 hours", "30 hours", "40 hours"),
                },
            ),
            Leaf(
                "Speakers",
                ("Bluetooth Speaker", "Bookshelf Speaker", "Soundbar", "Smart Speaker"),
                {"Colour": ("Black", "White", "Red", "Teal")},
                (40, 500),
                {"Power": ("10 W", "20 W", "60 W", "120 W"), "Waterproof": ("IPX7", "IPX4", "No")},
            ),
        ],
        "Computers": [
            Leaf(
                "Laptops",
                ("Ultrabook", "Gaming Laptop", "Convertible Laptop", "Chromebook"),
                {"Memory": ("8 GB", "16 GB", "32 GB"), "Storage": ("256 GB", "512 GB", "1 TB")},
                (350, 2400),
                {"Screen": ("13.3 in", "14 in", "15.6 in", "16 in"), "Processor": ("4-core", "8-core", "12-core")},
            ),
            Leaf(
                "Keyboards",
                ("Mechanical Keyboard", "Wireless Keyboard", "Compact Keyboard"),
                {"Layout": ("US ANSI", "US ISO"), "Switch": ("Red", "Brown", "Blue")},
                (35, 220),
                {"Backlight": ("RGB", "White", "None"), "Connectivity": ("USB-C", "Bluetooth", "2.4 GHz")},
            ),
            Leaf(
                "Monitors",
                ("4K Monitor", "Gaming Monitor", "Ultrawide Monitor", "Portable Monitor"),
                {"Size": ("24 in", "27 in", "32 in")},
                (150, 1200),
                {"Refresh rate": ("60 Hz", "144 Hz", "165 Hz"), "Panel": ("IPS", "VA", "OLED")},
            ),
        ],
        "Phones & Accessories": [
            Leaf(
                "Phone Cases",
                ("Clear Case", "Leather Case", "Rugged Case", "Wallet Case"),
                {"Model": ("Phone 14", "Phone 15", "Phone 15 Pro"), "Colour": ("Black", "Clear", "Tan", "Blue")},
                (12, 60),
                {"Drop rating": ("6 ft", "10 ft"), "Wireless charging": ("Compatible",)},
            ),
            Leaf(
                "Chargers",
                ("USB-C Charger", "Wireless Charger", "Power Bank", "Car Charger"),
                {"Colour": ("Black", "White")},
                (15, 90),
                {"Output": ("20 W", "45 W", "65 W", "100 W"), "Ports": ("1", "2", "3")},
            ),
        ],
    },
    "Home & Kitchen": {
        "Cookware": [
            Leaf(
                "Pans",
                ("Cast Iron Skillet", "Nonstick Frying Pan", "Saute Pan", "Wok"),
                {"Size": ("8 in", "10 in", "12 in")},
                (20, 180),
                {
                    "Material": ("Cast iron", "Stainless steel", "Carbon steel", "Aluminium"),
                    "Induction ready": ("Yes", "No"),
                },
            ),
            Leaf(
                "Knives",
                ("Chef's Knife", "Santoku Knife", "Paring Knife", "Bread Knife"),
                {"Length": ("6 in", "8 in", "10 in")},
                (18, 240),
                {"Steel": ("VG-10", "German steel", "Carbon steel"), "Handle": ("Walnut", "Pakkawood", "Polymer")},
            ),
        ],
        "Bedding": [
            Leaf(
                "Sheets",
                ("Percale Sheet Set", "Sateen Sheet Set", "Linen Sheet Set", "Flannel Sheet Set"),
                {"Size": ("Twin", "Full", "Queen", "King"), "Colour": ("White", "Ivory", "Grey", "Sage")},
                (40, 260),
                {"Thread count": ("300", "400", "600"), "Material": ("Cotton", "Linen", "Bamboo")},
            ),
            Leaf(
                "Pillows",
                ("Down Pillow", "Memory Foam Pillow", "Latex Pillow"),
                {"Size": ("Standard", "Queen", "King")},
                (25, 120),
                {"Firmness": ("Soft", "Medium", "Firm"), "Fill": ("Down", "Foam", "Latex")},
            ),
        ],
        "Decor": [
            Leaf(
                "Lamps",
                ("Table Lamp", "Floor Lamp", "Desk Lamp", "Pendant Light"),
                {"Finish": ("Brass", "Black", "White", "Oak")},
                (30, 300),
                {"Bulb": ("E26 LED", "Integrated LED"), "Dimmable": ("Yes", "No")},
            ),
            Leaf(
                "Rugs",
                ("Wool Rug", "Jute Rug", "Runner Rug", "Shag Rug"),
                {"Size": ("2x3 ft", "5x8 ft", "8x10 ft")},
                (45, 700),
                {"Material": ("Wool", "Jute", "Cotton", "Polypropylene"), "Pile": ("Flat", "Low", "High")},
            ),
        ],
    },
    "Sports & Outdoors": {
        "Camping": [
            Leaf(
                "Tents",
                ("Backpacking Tent", "Family Tent", "Ultralight Tent"),
                {"Capacity": ("1-person", "2-person", "4-person")},
                (90, 650),
                {"Season": ("3-season", "4-season"), "Weight": ("1.2 kg", "2.4 kg", "5.8 kg")},
            ),
            Leaf(
                "Sleeping Bags",
                ("Down Sleeping Bag", "Synthetic Sleeping Bag", "Quilt"),
                {"Length": ("Regular", "Long")},
                (60, 420),
                {"Rating": ("-7 °C", "0 °C", "7 °C"), "Fill": ("Down", "Synthetic")},
            ),
        ],
        "Fitness": [
            Leaf(
                "Yoga",
                ("Yoga Mat", "Yoga Block", "Yoga Strap"),
                {"Colour": ("Plum", "Black", "Sea Blue", "Sage")},
                (10, 120),
                {"Thickness": ("3 mm", "5 mm", "6 mm"), "Material": ("Natural rubber", "TPE", "Cork")},
            ),
            Leaf(
                "Weights",
                ("Dumbbell", "Kettlebell", "Weight Plate"),
                {"Weight": ("5 lb", "10 lb", "20 lb", "35 lb")},
                (15, 160),
                {"Coating": ("Rubber", "Vinyl", "Cast iron")},
            ),
        ],
        "Cycling": [
            Leaf(
                "Bike Helmets",
                ("Road Helmet", "Mountain Bike Helmet", "Commuter Helmet"),
                {"Size": ("S", "M", "L"), "Colour": ("Black", "White", "Fluoro Yellow")},
                (40, 280),
                {"Safety": ("CPSC", "CPSC + MIPS")},
            ),
            Leaf(
                "Bike Lights",
                ("Front Light", "Rear Light", "Light Set"),
                {"Output": ("400 lm", "800 lm", "1200 lm")},
                (15, 150),
                {"Charging": ("USB-C", "Micro-USB"), "Runtime": ("4 hours", "8 hours", "15 hours")},
            ),
        ],
    },
    "Beauty": {
        "Skincare": [
            Leaf(
                "Moisturisers",
                ("Daily Moisturiser", "Night Cream", "Gel Cream"),
                {"Size": ("50 ml", "100 ml")},
                (12, 85),
                {"Skin type": ("Dry", "Oily", "Combination", "Sensitive"), "SPF": ("None", "SPF 30")},
            ),
            Leaf(
                "Cleansers",
                ("Foaming Cleanser", "Cleansing Balm", "Micellar Water"),
                {"Size": ("150 ml", "300 ml")},
                (8, 45),
                {"Skin type": ("Dry", "Oily", "All"), "Fragrance": ("Unscented", "Citrus")},
            ),
        ],
    },
}

BRANDS = (
    "Northwind",
    "Alder & Co",
    "Fieldstone",
    "Lumen",
    "Harbor",
    "Summit",
    "Juniper",
    "Copperline",
    "Oakridge",
    "Bluecrest",
    "Everly",
    "Kestrel",
    "Marlow",
    "Pinecone",
    "Solace",
    "Tidewater",
)
ADJECTIVES = (
    "Classic",
    "Essential",
    "Everyday",
    "Premium",
    "Lightweight",
    "Heritage",
    "Urban",
    "Trail",
    "Studio",
    "Coastal",
    "Alpine",
    "Modern",
    "Vintage",
    "Pro",
    "Compact",
    "Signature",
)
FEATURES = (
    "Made to last, with reinforced seams and quality hardware.",
    "Designed in-house and tested for a full year before launch.",
    "Ships in plastic-free, recyclable packaging.",
    "Backed by our two-year warranty and free returns.",
    "A customer favourite for comfort and fit.",
    "Thoughtfully sized: check the specifications below.",
)
