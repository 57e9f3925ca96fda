"""The member-network directory: staff pages and a command to create, edit and deactivate
networks, their logo, the public network pages, and the attribution kit (links, QR codes and
embed snippets) a network uses to bring signatures."""
