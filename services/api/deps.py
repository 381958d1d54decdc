"""FastAPI dependencies: settings, database session, storage, Label Studio, auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from campaigns.config import Settings, get_settings
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.service import CampaignService
from campaigns.state.db import get_engine
from campaigns.storage import Storage
from services.api.guard import token_matches

SettingsDep = Annotated[Settings, Depends(get_settings)]
_bearer = HTTPBearer(auto_error=False)


def get_session(settings: SettingsDep) -> Iterator[Session]:
    with Session(get_engine(settings)) as session:
        yield session


def get_service(
    session: Annotated[Session, Depends(get_session)], settings: SettingsDep
) -> CampaignService:
    return CampaignService(session, settings)


def get_storage(settings: SettingsDep) -> Storage:
    return Storage.from_settings(settings)


def get_gateway(settings: SettingsDep) -> LabelStudioGateway:
    return LabelStudioGateway.from_settings(settings)


def require_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Bearer-token auth, enforced whenever CAMPAIGNS_API_TOKEN is set."""
    expected = settings.api_token
    if expected is None:
        return
    if credentials is None or not token_matches(
        credentials.credentials, expected.get_secret_value()
    ):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Missing or wrong bearer token: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )


SessionDep = Annotated[Session, Depends(get_session)]
StorageDep = Annotated[Storage, Depends(get_storage)]
GatewayDep = Annotated[LabelStudioGateway, Depends(get_gateway)]
ServiceDep = Annotated[CampaignService, Depends(get_service)]
