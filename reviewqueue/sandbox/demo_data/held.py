"""This morning's drafts, held for review, and the conversations they answer."""

from dataclasses import dataclass, field

from reviewqueue.sandbox.demo_data.cast import DOMAIN, LOOKALIKE_DOMAIN


@dataclass(frozen=True)
class Said:
    """One message in the Intercom conversation: by the customer, or by Fin (Intercom's AI agent)."""

    who: str  # "customer" or "fin"
    minutes_ago: int
    text: str


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    text: str  # the file's content (small: the demo needs a file, not a real PDF)


@dataclass(frozen=True)
class HeldDraft:
    """A draft waiting for review this morning, and the conversation it answers."""

    key: str  # how tests name the case
    mailbox: str
    customer: str
    email: str
    thread: tuple[Said, ...]
    drafted_minutes_ago: int
    subject: str
    markdown: str
    to: str = ""  # the recipient when the agent chose another address than the customer's
    attachments: tuple[Attachment, ...] = ()
    flags: frozenset[str] = field(default_factory=frozenset)  # what the queue should show beside it


def customer(text: str, minutes_ago: int) -> Said:
    return Said("customer", minutes_ago, text)


def fin(text: str, minutes_ago: int) -> Said:
    return Said("fin", minutes_ago, text)


PENDING = (
    # --- billing -------------------------------------------------------------------------------
    HeldDraft(
        key="refund_follow_up",
        mailbox="billing",
        customer="Hannah Whitfield",
        email="hannah.whitfield@example.com",
        thread=(
            customer("I returned the Ridgeline 2 tent two weeks ago and still haven't seen my refund. RMA 55102.", 900),
            fin("Thanks Hannah! Refunds usually take 5 to 7 business days after we receive the return.", 899),
            customer("It's been 8 business days now. Can someone actually check?", 95),
        ),
        drafted_minutes_ago=80,
        subject="Your refund for RMA 55102 (Ridgeline 2 tent)",
        markdown=(
            "Hi Hannah,\n\nYou're right to chase this, and I'm sorry for the wait. Our warehouse received the "
            "Ridgeline 2 last Tuesday, but the refund was held for a manual check that nobody picked up.\n\n"
            "I've released it today: **€349.00** back to the Visa ending 4417. Your bank usually shows it "
            "within 3 to 5 business days.\n\nThe status is also on your order page: "
            f"https://www.{DOMAIN}/account/orders/FH-20931\n\nBest,\nFernhill Support"
        ),
    ),
    HeldDraft(
        key="duplicate_charge",
        mailbox="billing",
        customer="Marcus Oyelaran",
        email="marcus.oyelaran@example.org",
        thread=(customer("I was charged twice for order FH-21007 — €84.50 two times on my card statement.", 610),),
        drafted_minutes_ago=600,
        subject="The duplicate charge on order FH-21007",
        markdown=(
            "Hi Marcus,\n\nThank you for the screenshot. The second €84.50 was a pre-authorisation that our "
            "payment provider should have released. I've asked them to release it now; it disappears from "
            "your statement within 2 business days, and nothing is taken from your account.\n\n"
            "Best,\nFernhill Support"
        ),
    ),
    HeldDraft(
        key="invoice_with_vat",
        mailbox="billing",
        customer="Sofia Lindqvist",
        email="sofia@lindqvist-design.example",
        thread=(
            customer("Could I get an invoice with our company VAT number (SE556677889901) for order FH-20877?", 420),
            fin("I can help with that! I've passed your request to our billing team.", 419),
        ),
        drafted_minutes_ago=410,
        subject="VAT invoice for order FH-20877",
        markdown=(
            "Hi Sofia,\n\nHere is the invoice for order FH-20877 with Lindqvist Design AB and your VAT number "
            "SE556677889901 on it (attached as a PDF).\n\nBest,\nFernhill Billing"
        ),
        attachments=(
            Attachment(
                "Fernhill-invoice-FH-20877.pdf",
                "application/pdf",
                "Invoice FH-20877 — Lindqvist Design AB, VAT SE556677889901 — total EUR 612.00",
            ),
        ),
        flags=frozenset({"attachments"}),
    ),
    HeldDraft(
        key="lookalike_link",
        mailbox="billing",
        customer="Grace Mbeki",
        email="grace.mbeki@example.net",
        thread=(customer("My gift card FH-GC-7781 says it has no balance but I never used it.", 300),),
        drafted_minutes_ago=290,
        subject="Your gift card balance",
        markdown=(
            "Hi Grace,\n\nSorry about that. To restore the balance, please confirm your card details on our "
            f"gift card page: [fernhill.example/giftcards](https://{LOOKALIKE_DOMAIN}/giftcards/restore)\n\n"
            "Best,\nFernhill Support"
        ),
        flags=frozenset({"unknown_links"}),
    ),
    HeldDraft(
        key="subscription_cancel",
        mailbox="billing",
        customer="Daniel Kowalczyk",
        email="daniel.kowalczyk@example.com",
        thread=(customer("Please cancel my Trail Club membership before it renews on the 10th.", 240),),
        drafted_minutes_ago=230,
        subject="Your Trail Club membership is cancelled",
        markdown=(
            "Hi Daniel,\n\nDone: your Trail Club membership is cancelled and will not renew on 10 December. "
            "Your member discount stays active until then.\n\nBest,\nFernhill Support"
        ),
    ),
    HeldDraft(
        key="price_match",
        mailbox="billing",
        customer="Aisha Rahman",
        email="aisha.rahman@example.org",
        thread=(
            customer("I bought the Summit 45 pack last week and it's now €20 cheaper. Do you price match?", 150),
            fin("Good question! Our price promise covers drops within 14 days. A teammate will confirm.", 149),
        ),
        drafted_minutes_ago=140,
        subject="Price promise refund for your Summit 45 pack",
        markdown=(
            "Hi Aisha,\n\nYes: you bought it within our 14-day price promise, so we've refunded the €20.00 "
            "difference to your original payment method.\n\nBest,\nFernhill Support"
        ),
    ),
    HeldDraft(
        key="failed_payment",
        mailbox="billing",
        customer="Oliver Grant",
        email="oliver.grant@example.com",
        thread=(customer("My payment keeps failing at checkout, the card is fine everywhere else.", 45),),
        drafted_minutes_ago=40,
        subject="About the failed payment at checkout",
        markdown=(
            "Hi Oliver,\n\nI'm sorry for the trouble. Your bank asked for a 3-D Secure check that didn't open "
            "on your phone. Please try again and approve the request in your banking app; your basket is "
            "saved.\n\nBest,\nFernhill Support"
        ),
    ),
    # --- orders & shipping ---------------------------------------------------------------------------
    HeldDraft(
        key="shipping_delay",
        mailbox="orders",
        customer="Liam O'Connor",
        email="liam.oconnor@example.net",
        thread=(
            customer("My order FH-21044 was supposed to arrive Friday. Tracking hasn't moved since Wednesday.", 840),
            fin("I'm sorry about the delay! I've asked our shipping team to look into it.", 839),
        ),
        drafted_minutes_ago=700,
        subject="Your order FH-21044 is delayed — here's what's happening",
        markdown=(
            "Hi Liam,\n\nYour parcel is held at the DHL hub in Leipzig after the storm closures last week. DHL "
            "expects to deliver it on **Tuesday**. If it hasn't arrived by Thursday, reply to this email and "
            "we'll send a replacement by express at no cost.\n\nTracking: "
            f"https://www.{DOMAIN}/track/FH-21044\n\nBest,\nFernhill Orders"
        ),
    ),
    HeldDraft(
        key="customer_wrote_again",
        mailbox="orders",
        customer="Priya Desai",
        email="priya.desai@example.com",
        thread=(
            customer("The hiking boots I ordered (FH-21012) are a size too small. Can I exchange them?", 520),
            customer("Actually, forget the exchange — I'd rather have a refund, I found a pair locally.", 35),
        ),
        drafted_minutes_ago=500,
        subject="Exchanging your boots for a larger size",
        markdown=(
            "Hi Priya,\n\nOf course! We've reserved the Alder GTX boots in size 40 for you. Send the small pair "
            "back with the prepaid label and we'll ship the new ones as soon as they're scanned.\n\n"
            "Best,\nFernhill Orders"
        ),
        flags=frozenset({"customer_replied"}),
    ),
    HeldDraft(
        key="recipient_not_in_conversation",
        mailbox="orders",
        customer="Jonas Berg",
        email="jonas.berg@example.com",
        thread=(customer("Where is my order FH-20990? I need the stove for a trip on Saturday.", 380),),
        drafted_minutes_ago=370,
        subject="Your order FH-20990 ships today",
        markdown=(
            "Hi Jonas,\n\nGood news: the Emberlite stove shipped this morning by express and arrives on "
            "Thursday, in time for your trip.\n\nBest,\nFernhill Orders"
        ),
        to="j.berg@bergcarpentry.example",
        flags=frozenset({"recipient_not_contact"}),
    ),
    HeldDraft(
        key="damaged_item",
        mailbox="orders",
        customer="Chloe Martin",
        email="chloe.martin@example.org",
        thread=(
            customer("The trekking poles arrived with one section bent. Photos attached in the chat.", 330),
            fin("Sorry to hear that, Chloe! I've flagged it for a replacement.", 329),
        ),
        drafted_minutes_ago=320,
        subject="A replacement for your trekking poles",
        markdown=(
            "Hi Chloe,\n\nThanks for the photos. A new pair of Cascade trekking poles ships today; keep the bent "
            "pair, there's no need to send it back.\n\nBest,\nFernhill Orders"
        ),
    ),
    HeldDraft(
        key="wrong_size",
        mailbox="orders",
        customer="Mateo Alvarez",
        email="mateo.alvarez@example.net",
        thread=(customer("I got a size M fleece but ordered L (order FH-21030).", 270),),
        drafted_minutes_ago=260,
        subject="The right size for order FH-21030",
        markdown=(
            "Hi Mateo,\n\nSorry for the mix-up. The size L Tundra fleece ships today, with a prepaid label for "
            "the M in the box.\n\nBest,\nFernhill Orders"
        ),
    ),
    HeldDraft(
        key="change_address",
        mailbox="orders",
        customer="Emma Schulz",
        email="emma.schulz@example.com",
        thread=(customer("Can I still change the delivery address for FH-21051? I'm moving on Monday.", 200),),
        drafted_minutes_ago=190,
        subject="New delivery address for order FH-21051",
        markdown=(
            "Hi Emma,\n\nYes, it hadn't left the warehouse yet. We've changed the delivery address to "
            "Lindenstraße 12, 10969 Berlin. The parcel ships tomorrow.\n\nBest,\nFernhill Orders"
        ),
    ),
    HeldDraft(
        key="missing_parcel",
        mailbox="orders",
        customer="Noah Fischer",
        email="noah.fischer@example.org",
        thread=(
            customer("Tracking says delivered yesterday but there's nothing here. Order FH-20968.", 120),
            fin("I'm sorry! Sometimes parcels are left with a neighbour. I've asked the team to check.", 119),
            customer("Checked with the neighbours, nothing.", 100),
        ),
        drafted_minutes_ago=90,
        subject="Your missing parcel (order FH-20968)",
        markdown=(
            "Hi Noah,\n\nThank you for checking with your neighbours. We've opened an investigation with the "
            "carrier and are sending a replacement today, so you don't have to wait for it.\n\n"
            "Best,\nFernhill Orders"
        ),
    ),
    HeldDraft(
        key="return_label",
        mailbox="orders",
        customer="Yuki Tanaka",
        email="yuki.tanaka@example.com",
        thread=(customer("How do I return the sleeping bag? I can't find a label in the box.", 25),),
        drafted_minutes_ago=20,
        subject="Your return label for the sleeping bag",
        markdown=(
            "Hi Yuki,\n\nYour prepaid return label is attached. Print it, stick it on the original box, and "
            "drop it at any DHL point; the refund follows within 5 days of us receiving it.\n\n"
            "Best,\nFernhill Orders"
        ),
        attachments=(Attachment("return-label-FH-21060.pdf", "application/pdf", "DHL return label FH-21060"),),
        flags=frozenset({"attachments"}),
    ),
    # --- privacy ---------------------------------------------------------------------------------
    HeldDraft(
        key="gdpr_deletion",
        mailbox="privacy",
        customer="Clara Jensen",
        email="clara.jensen@example.net",
        thread=(
            customer("Under GDPR, please delete my account and all the data you hold about me.", 1020),
            fin("I've passed your request to our privacy team, who will confirm by email.", 1019),
        ),
        drafted_minutes_ago=1000,
        subject="Your account and data have been deleted",
        markdown=(
            "Hi Clara,\n\nAs you asked under Article 17 of the GDPR, we have deleted your Fernhill account, "
            "your order history and your marketing preferences. We keep invoices for 7 years because tax law "
            "requires it; they are no longer linked to an account.\n\nThis is the last email you'll get from "
            "us.\n\nFernhill Privacy Team"
        ),
    ),
    HeldDraft(
        key="data_export",
        mailbox="privacy",
        customer="Ben Adeyemi",
        email="ben.adeyemi@example.com",
        thread=(customer("I'd like a copy of all personal data you have on me (subject access request).", 720),),
        drafted_minutes_ago=700,
        subject="Your personal data export",
        markdown=(
            "Hi Ben,\n\nAttached is the export of the personal data we hold about you: profile, orders, "
            "addresses and marketing preferences, as JSON.\n\nFernhill Privacy Team"
        ),
        attachments=(Attachment("fernhill-data-export.json", "application/json", '{"orders": 12, "addresses": 2}'),),
        flags=frozenset({"attachments"}),
    ),
    HeldDraft(
        key="marketing_opt_out",
        mailbox="privacy",
        customer="Lucia Romano",
        email="lucia.romano@example.org",
        thread=(customer("Stop sending me newsletters. I've unsubscribed twice already.", 360),),
        drafted_minutes_ago=350,
        subject="You're unsubscribed from our newsletters",
        markdown=(
            "Hi Lucia,\n\nI'm sorry, the earlier unsubscribes only covered one of our two lists. You're now "
            "removed from both, and you won't get marketing email from us again.\n\nFernhill Privacy Team"
        ),
    ),
    HeldDraft(
        key="cookie_question",
        mailbox="privacy",
        customer="Samuel Okoro",
        email="samuel.okoro@example.net",
        thread=(customer("Which third parties get data from your cookies?", 180),),
        drafted_minutes_ago=170,
        subject="The cookies on our site",
        markdown=(
            "Hi Samuel,\n\nOnly two: our analytics provider and our payment provider. The full list, with what "
            f"each receives, is in our cookie policy: https://www.{DOMAIN}/privacy/cookies\n\nFernhill Privacy Team"
        ),
    ),
    HeldDraft(
        key="account_email_change",
        mailbox="privacy",
        customer="Elif Yilmaz",
        email="elif.yilmaz@example.com",
        thread=(customer("I no longer have access to my old email. Can you move my account to this one?", 60),),
        drafted_minutes_ago=55,
        subject="Moving your account to a new email address",
        markdown=(
            "Hi Elif,\n\nTo protect your account we need to confirm it's you first: please reply with the "
            "postcode of your last delivery and the last four digits of the card you paid with.\n\n"
            "Fernhill Privacy Team"
        ),
    ),
)
