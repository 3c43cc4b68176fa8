"""Events other apps react to. Each is sent after the transaction that caused it commits,
with `request` (an ApprovalRequest) as the only argument."""

from django.dispatch import Signal

# The last step of the chain is done: the subject is approved and ready to go ahead.
request_approved = Signal()
# An approver sent the request back to its requester for changes.
request_returned = Signal()
# An approver closed the request.
request_rejected = Signal()
