"""Email digests of the drafts waiting in a person's mailboxes (README: "Digests")."""
