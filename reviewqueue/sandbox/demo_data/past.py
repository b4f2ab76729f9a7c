"""The week of drafts the team already decided."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DecidedDraft:
    """A draft from the past week and what a reviewer decided on it."""

    day: int  # days ago
    time: str  # "HH:MM" UTC, when the reviewer decided
    mailbox: str
    customer: str
    email: str
    question: str
    subject: str
    markdown: str
    reviewer: str
    reason: str = ""  # a rejection's reason; empty for an approval

    @property
    def action(self) -> str:
        return "reject" if self.reason else "approve"


def _past(day, time, mailbox, who, email, question, subject, markdown, reviewer, reason=""):
    return DecidedDraft(day, time, mailbox, who, email, question, subject, markdown, reviewer, reason)


PAST = (
    _past(7, "08:12", "orders", "Felix Braun", "felix.braun@example.com",
          "When will my tent arrive? Order FH-20702.", "Your order FH-20702 is on its way",
          "Hi Felix,\n\nYour tent left our warehouse yesterday and arrives on Wednesday.\n\nBest,\nFernhill Orders",
          "maya.patel"),
    _past(7, "09:40", "billing", "Nora Ahmed", "nora.ahmed@example.org",
          "I was charged for shipping on a free-shipping order.", "Your shipping charge refunded",
          "Hi Nora,\n\nYou're right, orders over €50 ship free. We've refunded the €4.95.\n\nBest,\nFernhill Billing",
          "tom.becker"),
    _past(7, "14:05", "billing", "Peter Novak", "peter.novak@example.net",
          "Can I get a refund for the jacket I wore once?", "About your jacket return",
          "Hi Peter,\n\nWe've issued a full refund of €189.00 for the jacket.\n\nBest,\nFernhill Billing",
          "maya.patel", "Policy: worn items get store credit, not a refund. Offer credit instead."),
    _past(6, "08:30", "privacy", "Hanna Virtanen", "hanna.virtanen@example.com",
          "Please delete my account.", "Your account has been deleted",
          "Hi Hanna,\n\nWe've deleted your account and personal data.\n\nFernhill Privacy Team",
          "ines.moreau"),
    _past(6, "10:15", "orders", "George Evans", "george.evans@example.org",
          "Do you ship to Norway?", "Shipping to Norway",
          "Hi George,\n\nYes, we ship to Norway in 3 to 5 business days; duties are included at checkout.\n\n"
          "Best,\nFernhill Orders",
          "tom.becker"),
    _past(6, "11:50", "orders", "Ana Costa", "ana.costa@example.net",
          "My stove arrived without the fuel canister adapter.", "The missing adapter for your stove",
          "Hi Ana,\n\nA new stove is on its way; please return the old one.\n\nBest,\nFernhill Orders",
          "maya.patel", "Wrong fix: only the adapter is missing. Send the adapter, don't swap the stove."),
    _past(6, "15:20", "billing", "Ravi Menon", "ravi.menon@example.com",
          "Why was my discount code not applied?", "Your discount code",
          "Hi Ravi,\n\nWe've refunded the 15% your WELCOME15 code should have taken off.\n\nBest,\nFernhill Billing",
          "ines.moreau"),
    _past(5, "09:05", "orders", "Julia Wagner", "julia.wagner@example.org",
          "Can I add an item to my order before it ships?", "Adding to your order",
          "Hi Julia,\n\nWe've added the second water bottle to order FH-20811; it ships together.\n\n"
          "Best,\nFernhill Orders",
          "tom.becker"),
    _past(5, "10:45", "privacy", "Omar Haddad", "omar.haddad@example.net",
          "What data do you keep about my orders?", "The data we keep about your orders",
          "Hi Omar,\n\nYour full card number is stored in our systems for faster checkout.\n\nFernhill Privacy Team",
          "ines.moreau", "Wrong and alarming: we never store full card numbers (the provider tokenises them)."),
    _past(5, "13:30", "billing", "Lena Hoffmann", "lena.hoffmann@example.com",
          "I need a receipt for my expenses.", "Your receipt for order FH-20790",
          "Hi Lena,\n\nHere's the receipt for order FH-20790 as a PDF.\n\nBest,\nFernhill Billing",
          "maya.patel"),
    _past(5, "16:10", "orders", "Kofi Asante", "kofi.asante@example.org",
          "The boots are too narrow, can I swap them for the wide fit?", "Swapping for the wide fit",
          "Hi Kofi,\n\nOf course. The wide-fit Alder boots ship as soon as we scan your return.\n\n"
          "Best,\nFernhill Orders",
          "tom.becker"),
    _past(4, "08:55", "billing", "Isabel Ruiz", "isabel.ruiz@example.net",
          "Can I pay by invoice?", "Paying by invoice",
          "Hi Isabel,\n\nYes, we've switched your account to pay by invoice with 90-day terms.\n\n"
          "Best,\nFernhill Billing",
          "maya.patel", "We only offer 30-day terms, and only to business accounts after a credit check."),
    _past(4, "11:20", "orders", "Tobias Klein", "tobias.klein@example.com",
          "Is the Ridgeline 3 back in stock?", "The Ridgeline 3 is back",
          "Hi Tobias,\n\nIt's back in stock in green and sand.\n\nBest,\nFernhill Orders",
          "ines.moreau"),
    _past(4, "14:40", "privacy", "Mia Dubois", "mia.dubois@example.org",
          "Unsubscribe me from your texts.", "You're unsubscribed from our texts",
          "Hi Mia,\n\nDone, you won't get marketing texts from us any more.\n\nFernhill Privacy Team",
          "tom.becker"),
    _past(3, "09:15", "orders", "Ethan Walsh", "ethan.walsh@example.net",
          "My parcel was returned to you by mistake.", "Re-sending your parcel",
          "Hi Ethan,\n\nWe've received it and re-sent it today, shipping on us.\n\nBest,\nFernhill Orders",
          "maya.patel"),
    _past(3, "10:35", "billing", "Sara Nilsson", "sara.nilsson@example.com",
          "I was billed in dollars instead of euros.", "Your order's currency",
          "Hi Sara,\n\nWe'll refund the currency conversion fee your bank charged; send us the statement line.\n\n"
          "Best,\nFernhill Billing",
          "tom.becker"),
    _past(3, "13:00", "orders", "Lucas Petit", "lucas.petit@example.org",
          "Where's my order? It's been two weeks.", "Your order FH-20655",
          "Hi Lucas,\n\nYour order was delivered on Monday.\n\nBest,\nFernhill Orders",
          "ines.moreau", "Tracking shows it lost in transit, not delivered. Needs a replacement offer."),
    _past(3, "15:45", "privacy", "Zoe Clarke", "zoe.clarke@example.net",
          "Did you have a data breach? I got a weird email.", "About the email you received",
          "Hi Zoe,\n\nThat email wasn't from us and there has been no breach. Please don't click its links; "
          "forward it to security@fernhill.example.\n\nFernhill Privacy Team",
          "maya.patel"),
    _past(2, "08:40", "billing", "Adam Sokolov", "adam.sokolov@example.com",
          "Please refund my cancelled order FH-20930.", "Refund for cancelled order FH-20930",
          "Hi Adam,\n\nThe €129.00 for order FH-20930 is refunded to your card.\n\nBest,\nFernhill Billing",
          "tom.becker"),
    _past(2, "11:10", "orders", "Leah Goldberg", "leah.goldberg@example.org",
          "Can I collect my order in store?", "Collecting your order",
          "Hi Leah,\n\nYes, pick it up at our Bristol store from Thursday.\n\nBest,\nFernhill Orders",
          "maya.patel", "We have no Bristol store; click-and-collect is only at the Leeds warehouse."),
    _past(2, "14:25", "billing", "Victor Lambert", "victor.lambert@example.net",
          "My gift card didn't arrive by email.", "Your gift card",
          "Hi Victor,\n\nWe've re-sent your €50 gift card to this address.\n\nBest,\nFernhill Billing",
          "ines.moreau"),
    _past(1, "09:00", "orders", "Maja Novak", "maja.novak@example.com",
          "The tent pole snapped on the first night.", "A new pole for your tent",
          "Hi Maja,\n\nA replacement pole set is on its way under warranty.\n\nBest,\nFernhill Orders",
          "tom.becker"),
    _past(1, "10:30", "privacy", "Henry Shaw", "henry.shaw@example.org",
          "Please correct my name in your records: it's Henry, not Harry.", "Your name is corrected",
          "Hi Henry,\n\nDone: your account and future orders now say Henry Shaw.\n\nFernhill Privacy Team",
          "maya.patel"),
    _past(1, "13:50", "billing", "Amira Saleh", "amira.saleh@example.net",
          "Can I split the payment over two cards?", "Paying with two cards",
          "Hi Amira,\n\nCheckout takes one card, but you can use a gift card for part of the total.\n\n"
          "Best,\nFernhill Billing",
          "ines.moreau"),
    _past(1, "16:30", "orders", "Daniel Park", "daniel.park@example.com",
          "Do the Alder boots run small?", "Sizing of the Alder boots",
          "Hi Daniel,\n\nThey run true to size; most customers take their usual size.\n\nBest,\nFernhill Orders",
          "tom.becker", "Our own size guide says to go half a size up. Don't contradict it."),
)  # fmt: skip
