"""A stand-in for Twilio's Calls API inside Waihu, used when no Twilio credentials are set:
the real SDK is pointed at it, it plays each call out and posts signed status callbacks."""
