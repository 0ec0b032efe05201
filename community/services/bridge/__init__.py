"""The social bridge's rules, one module per job:

- `channels`: adding, changing and reading channels; the channel a webhook names
- `receiving`: verify a webhook delivery or poll a channel; store every event once
- `intake`: turn one stored event into forum content (a thread, a comment, a link, an answer)
- `batch_intake`: a burst of new customers' complaints taken in together; leftovers
- `replies`: what we owe customers (acknowledgements, notices, best answers) as outbox rows
- `sending`: the worker's round: poll, reconcile, send owed replies through the outbox
- `linking`: link codes that tie a channel identity to a forum account
- `staff`: what staff read (inbound messages, replies)

The names below are the package's interface for views, the API and the CLI.
"""

from community.services.bridge.batch_intake import intake_leftovers, intake_many
from community.services.bridge.channels import (KIND_LABELS, adapter, add_channel,
                                                change_channel, channels,
                                                forget_webhook_channels, get_channel,
                                                masked_settings, parse_settings, setting_specs,
                                                webhook_link)
from community.services.bridge.intake import acknowledge_approved, intake, retry_intake
from community.services.bridge.linking import (LINK_CODE_LIFETIME, linked_identities,
                                               new_link_code, unlink, unlink_by_token,
                                               unlink_token)
from community.services.bridge.receiving import Receipt, handshake, poll, receive, store
from community.services.bridge.replies import cancel_reply, retry_reply
from community.services.bridge.staff import get_inbound, get_reply, list_replies, recent_inbound

__all__ = [
    "KIND_LABELS", "LINK_CODE_LIFETIME", "Receipt", "acknowledge_approved", "adapter",
    "add_channel", "cancel_reply",
    "change_channel", "channels", "forget_webhook_channels", "get_channel", "get_inbound",
    "get_reply", "handshake", "intake", "intake_leftovers", "intake_many", "linked_identities",
    "list_replies", "masked_settings", "new_link_code", "parse_settings", "poll", "receive",
    "recent_inbound", "retry_intake", "retry_reply", "setting_specs", "store", "unlink",
    "unlink_by_token", "unlink_token", "webhook_link",
]
