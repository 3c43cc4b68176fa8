"""Numbers the sandbox treats specially, so tests and demos can ask for an outcome."""

# To -> (HTTP status, Twilio error code, message): the call is refused as Twilio would.
ERROR_NUMBERS = {
    "+15005550001": (400, 21211, "Invalid 'To' Phone Number"),
    "+15005550002": (400, 21214, "'To' phone number cannot be reached"),
    "+15005550005": (400, 21217, "Phone number does not appear to be valid"),
    # Refusals of the account, not of the number: the campaign pauses.
    "+15005550003": (
        400,
        21215,
        "Account not authorized to call this number: the Geo Permission configuration "
        "does not permit the call",
    ),
    "+15005550004": (400, 21216, "Call blocked by Twilio"),
    "+15005550011": (401, 20003, "Authenticate"),
    "+15005550012": (
        403,
        20403,
        "The account lacks permission to access the Twilio API: it is suspended or closed.",
    ),
    "+15005550009": (429, 20429, "Too Many Requests"),
    "+15005550010": (500, 20500, "Internal Server Error"),
}

# To -> how the call turns out, whatever the configured shares.
OUTCOME_NUMBERS = {
    "+15005550100": "answered",
    "+15005550101": "busy",
    "+15005550102": "no_answer",
    "+15005550103": "failed",
    "+15005550104": "machine",
    # Accepted, then never heard of again: a lost callback.
    "+15005550105": "silent",
}
