"""The vocabulary the generated traffic and import files draw from."""

FIRST_NAMES = (
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines",
    "Jonas", "Kim", "Lena", "Marco", "Nora", "Omar", "Paula", "Quinn", "Rosa",
    "Sami", "Tara", "Umar", "Vera", "Will", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Novak", "Martin", "Berg", "Rossi", "Kowalski", "Dubois", "Ito",
    "Okafor", "Larsen", "Moreau", "Schmidt", "Garcia", "Nguyen", "Costa",
)  # fmt: skip
DOMAINS = ("example.com", "mail.example.org", "example.net", "corp.example")
CATEGORIES = ("shoes", "jackets", "bags", "watches", "lamps", "books", "toys")
COUPONS = ("WINTER10", "WELCOME", "FREESHIP", "VIP20", "none")
REFERRERS = (
    "https://www.example-search.com/search?q=winter+jacket",
    "https://social.example.net/post/8812731",
    "https://newsletter.example.org/2026/11/deals",
    "https://shop.example.com/",
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
    " Gecko) Chrome/131.0.0.0 Safari/537.36 ",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1 ",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 ",
)
# A shop's funnel, from the top; later session steps go deeper.
FUNNEL = (
    "page-viewed",
    "search-performed",
    "product-viewed",
    "product-viewed",
    "cart-added",
    "checkout-started",
    "checkout.shipping-entered",
    "checkout.payment-entered",
    "order-completed",
)
