"""Pushing published actions out to where the team already works: Slack and Teams
incoming webhooks, Jira, GitHub issues, Azure DevOps work items and a signed JSON
webhook. One way only, and only what the publish gate approved (``outbound``);
each service's wire format lives in ``targets``. The service layer
(``facilitator.service.integrations``) stores the configuration, the sealed
secrets and one delivery row per action and destination, so nothing is sent twice.
"""
