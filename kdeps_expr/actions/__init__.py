"""What a resource does besides expressions: its primary action (chat, and the executors)."""
