"""Bulk actions on a customer list or a segment: tag, assign an owner, add to a campaign, export."""
