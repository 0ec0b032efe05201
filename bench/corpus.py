"""Synthetic but plausible text for the bench: titles, markdown bodies, tags and usernames.

Everything comes from one seeded random.Random, so two runs with the same seed build the same
community. Bodies are markdown in the style of the demo data (lists, inline code, fenced blocks,
links, the odd table, some Arabic); the loader renders a pool of a few hundred of them once and
reuses them, since rendering 100,000 bodies through markdown + bleach would dominate the load.
"""

from __future__ import annotations

import random

TAGS = [
    "roaming", "esim", "billing", "5g", "4g", "apn", "voicemail", "wifi-calling", "sim-card",
    "porting", "pac-code", "data", "coverage", "handsets", "iphone", "android", "pixel",
    "samsung", "contract", "pay-as-you-go", "top-up", "bundles", "international", "sms", "mms",
    "hotspot", "tethering", "broadband", "router", "fibre", "outage", "signal", "app",
    "account", "login", "direct-debit", "refund", "upgrade", "trade-in", "insurance",
    "parental-controls", "spam-calls", "scams", "accessibility", "family-plan", "business",
    "smartwatch", "volte", "unlocking", "complaints",
]

DEVICES = ["iPhone 15", "iPhone 13 mini", "Pixel 8", "Pixel 7a", "Galaxy S24", "Galaxy A54",
           "Moto G84", "Fairphone 5", "Nokia G42", "OnePlus 12", "Apple Watch", "Galaxy Watch 6",
           "old Xperia", "iPad Air", "Kestrel Home router"]
PLANS = ["Unlimited Plus", "Flex 20GB", "Student 50GB", "Family Share", "Roam Anywhere",
         "pay-as-you-go", "SIM-only 12 month", "Business Pro", "Data-only 100GB"]
PLACES = ["Spain", "Dubai", "the US", "Ireland", "Turkey", "France", "Morocco", "Egypt",
          "Leeds", "Manchester", "the Lake District", "a ferry to Belfast", "Heathrow",
          "a cruise ship", "Saudi Arabia", "Portugal"]
SYMPTOMS = ["drops to 3G", "shows no service", "keeps asking for a PIN", "won't send picture messages",
            "burns through data", "says the eSIM can't be added", "won't connect to Wi-Fi calling",
            "charges me twice", "loses signal indoors", "rejects my PAC code",
            "shows SOS only", "won't hotspot to my laptop", "gets no voicemail notifications"]
SITUATIONS = ["I travel abroad", "I switch between SIMs", "I'm on the train", "I top up online",
              "I restart it", "I update the software", "I move the SIM to a new phone",
              "I'm at home", "the bill is generated", "I try to port my number"]
FIXES = [
    "Toggle flight mode for ten seconds, then turn it off again.",
    "Go to **Settings → Mobile network → Access Point Names** and reset to default.",
    "Dial `*#06#` and check the IMEI matches the one on your account.",
    "Make sure *Data roaming* is switched on under **Settings → Mobile data**.",
    "Remove the eSIM profile and scan the QR code again from the app.",
    "Check the bundle is active in the Kestrel app under **Account → Add-ons**.",
    "Turn off *Wi-Fi calling* and back on, then wait a few minutes for provisioning.",
    "Text `PAC` to `65075`; the code arrives within a minute.",
    "Set the preferred network type to **5G/4G/3G (auto)**.",
    "Log out of the app, clear its cache, and log in again.",
    "Ask chat support to re-provision the SIM: it takes about an hour.",
    "Update the carrier settings: **Settings → General → About** and wait for the prompt.",
]
OPENERS = [
    "Hi all,", "Hoping someone can help.", "Long-time customer, first post.",
    "This has been driving me mad for a week.", "Quick one:", "Bit of an odd one here.",
    "Not sure if this is the right place to ask.", "", "", "",
]
THANKS = ["Thanks in advance!", "Any ideas appreciated.", "Cheers.", "", "", "Ta."]
ANSWER_OPENERS = [
    "I had exactly the same thing last month.", "This is almost always the APN.",
    "Good question, and you're not the only one.", "Short answer: yes, but there's a catch.",
    "Staff can confirm, but from experience:", "Try this first:", "", "",
]
ARABIC = [
    "عندي نفس المشكلة مع الإنترنت عند السفر، هل يوجد حل؟",
    "جربت إعادة تشغيل الهاتف ولكن الإشارة ما زالت ضعيفة.",
    "شكراً جزيلاً، الحل نجح معي بعد تحديث إعدادات الشبكة.",
    "هل الباقة تشمل التجوال في دول الخليج؟",
]
COMMENTS = [
    "Did you try a different SIM in the same phone?", "Which software version are you on?",
    "Same here since the last update.", "This worked for me, thanks!",
    "Is this on the {plan} plan?", "Worth checking the outage map first: https://kestrel.example/status",
    "Can you post a screenshot of the network settings?", "Happened to me in {place} too.",
    "Legend, that fixed it. 🙌", "Still broken for me on a {device}.",
    "The `*#06#` trick is handy, cheers.", "Raised a ticket, will report back.",
]
TITLE_TEMPLATES = [
    "My {device} {symptom} when {situation}",
    "Why does my {device} {symptom}?",
    "{device} {symptom} in {place}",
    "Is roaming in {place} included on {plan}?",
    "How do I move my number to {plan}?",
    "Charged for data in {place} on {plan}",
    "eSIM on {device}: {symptom}",
    "Wi-Fi calling on {device} {symptom}",
    "Can I keep my number when switching to {plan}?",
    "Bill went up after moving to {plan}",
    "{device} {symptom} after the latest update",
    "Best settings for {device} in {place}?",
]
FIRST = ["sam", "priya", "mike", "jean", "ben", "aisha", "owen", "tomasz", "caoimhe", "khalid",
         "sara", "li", "maria", "dev", "noor", "yusuf", "emma", "olu", "ravi", "hana"]
SECOND = ["roams", "fixes", "bristol", "leeds", "nurse", "geek", "traveller", "gran", "runner",
          "lowbattery", "signal", "phone", "k", "w", "99", "uk", "dxb", "ire", "mcr", "ldn"]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(device=rng.choice(DEVICES), plan=rng.choice(PLANS),
                           place=rng.choice(PLACES), symptom=rng.choice(SYMPTOMS),
                           situation=rng.choice(SITUATIONS))


def title(rng: random.Random) -> str:
    text = _fill(rng, rng.choice(TITLE_TEMPLATES))
    return text if text[:2] in ("iP", "eS") else text[0].upper() + text[1:]


def _sentence(rng: random.Random) -> str:
    return _fill(rng, rng.choice([
        "I'm on the {plan} plan and my {device} {symptom} when {situation}.",
        "It started when {situation}, and now it {symptom}.",
        "Support told me to restart it, which I've done a dozen times.",
        "Calls and texts are fine, it's only data that {symptom}.",
        "My partner has a {device} on the same plan and it's fine.",
        "I was in {place} last week and it worked there.",
        "The app says the bundle is active, so I'm stumped.",
        "Signal shows full bars but nothing loads.",
        "Is this a known issue with the {device}?",
        "I'd rather not spend an hour in the chat queue again.",
    ]))


def _paragraph(rng: random.Random, n: int) -> str:
    return " ".join(_sentence(rng) for _ in range(n))


def _steps(rng: random.Random, ordered: bool) -> str:
    picks = rng.sample(FIXES, rng.randint(2, 5))
    return "\n".join(f"{i + 1}. {step}" if ordered else f"- {step}" for i, step in enumerate(picks))


def _code_block(rng: random.Random) -> str:
    return "```\n" + "\n".join([
        "Name:      Kestrel",
        f"APN:       {rng.choice(['internet.kestrel', 'mms.kestrel', 'roam.kestrel'])}",
        "Username:  kestrel",
        "Password:  (leave blank)",
        "APN type:  default,supl,mms",
    ]) + "\n```"


def _table(rng: random.Random) -> str:
    rows = "\n".join(f"| {place} | {rng.choice(['included', '£2.50/day', 'not covered'])} |"
                     for place in rng.sample(PLACES, 4))
    return "| Destination | Roaming |\n| --- | --- |\n" + rows


def question_body(rng: random.Random) -> str:
    parts = [p for p in (rng.choice(OPENERS), _paragraph(rng, rng.randint(2, 4))) if p]
    if rng.random() < 0.5:
        parts += ["Tried:", _steps(rng, ordered=False)]
    if rng.random() < 0.35:
        parts.append(_paragraph(rng, rng.randint(1, 3)))
    if rng.random() < 0.1:
        parts.append(rng.choice(ARABIC))
    if rng.random() < 0.15:
        parts.append(f"Device: **{rng.choice(DEVICES)}**, plan: *{rng.choice(PLANS)}*.")
    thanks = rng.choice(THANKS)
    if thanks:
        parts.append(thanks)
    return "\n\n".join(parts)


def answer_body(rng: random.Random) -> str:
    parts = [p for p in (rng.choice(ANSWER_OPENERS),) if p]
    parts.append(_paragraph(rng, rng.randint(1, 2)) if rng.random() < 0.3 else
                 "Here's what sorted it for me:")
    parts.append(_steps(rng, ordered=True))
    if rng.random() < 0.25:
        parts.append(_code_block(rng))
    if rng.random() < 0.1:
        parts.append(_table(rng))
    if rng.random() < 0.4:
        slug = rng.choice(["apn-android", "esim", "roaming", "wifi-calling", "porting", "billing"])
        parts.append(f"The full guide is here: [Kestrel help: {slug}](https://kestrel.example/help/{slug}).")
    if rng.random() < 0.3:
        parts.append(_paragraph(rng, rng.randint(1, 3)))
    if rng.random() < 0.08:
        parts.append(rng.choice(ARABIC))
    return "\n\n".join(parts)


def comment_body(rng: random.Random) -> str:
    text = _fill(rng, rng.choice(COMMENTS))
    return text if rng.random() > 0.05 else rng.choice(ARABIC)


def username(rng: random.Random, n: int) -> str:
    sep = rng.choice(["_", ".", "", "-"])
    return f"{rng.choice(FIRST)}{sep}{rng.choice(SECOND)}{n}"
