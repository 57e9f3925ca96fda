"""The campaign editor: staff create campaigns, write their versions per language, set the
petition's goal and deadline, preview, and move them through their life (launch, pause, close,
deliver)."""
