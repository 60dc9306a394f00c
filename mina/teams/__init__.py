"""Workspaces with several people: roles and what each may do, members, invitations."""

from mina.teams.roles import Action, may, role_rank

__all__ = ["Action", "may", "role_rank"]
