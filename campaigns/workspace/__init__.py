"""The staff home: what needs attention across campaigns, mailings and translations.

A package of its own above the domains it reads (campaign, petitions, mailings, editor): the staff
package below them holds accounts and sign-in and may not import them.
"""
