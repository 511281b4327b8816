"""Initial schema: places and their names, sources, events with citations and revisions, keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 23:52:52.864427
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Extensions the schema and the queries rely on; left in place on downgrade (others may use them).
EXTENSIONS = ("postgis", "pg_trgm", "unaccent", "btree_gist")


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('key_hash', sa.Text(), nullable=False),
    sa.Column('scopes', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("scopes <@ ARRAY['read', 'write', 'admin']::text[] AND cardinality(scopes) > 0", name=op.f('ck_api_keys_scopes_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_keys_name'))
    )
    op.create_geospatial_table('places',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('geonames_id', sa.BigInteger(), nullable=True),
    sa.Column('iso_code', sa.String(length=16), nullable=True),
    sa.Column('population', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("country_code ~ '^[A-Z]{2}$'", name=op.f('ck_places_country_code_format')),
    sa.CheckConstraint("kind IN ('country', 'region', 'district', 'settlement', 'site')", name=op.f('ck_places_kind_allowed')),
    sa.CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name=op.f('ck_places_slug_format')),
    sa.CheckConstraint('ST_SRID(boundary) = 4326 AND ST_XMin(boundary) >= -180 AND ST_XMax(boundary) <= 180 AND ST_YMin(boundary) >= -90 AND ST_YMax(boundary) <= 90', name=op.f('ck_places_boundary_wgs84')),
    sa.CheckConstraint('ST_SRID(geom) = 4326 AND ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90', name=op.f('ck_places_geom_wgs84')),
    sa.ForeignKeyConstraint(['parent_id'], ['places.id'], name=op.f('fk_places_parent_id_places'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_places')),
    sa.UniqueConstraint('geonames_id', name=op.f('uq_places_geonames_id')),
    sa.UniqueConstraint('iso_code', name=op.f('uq_places_iso_code')),
    sa.UniqueConstraint('slug', name=op.f('uq_places_slug'))
    )
    op.create_geospatial_index('ix_places_boundary', 'places', ['boundary'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('ix_places_geom', 'places', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_places_parent_id', 'places', ['parent_id'], unique=False)
    op.create_table('sources',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('government', 'military', 'media', 'osint', 'research', 'social')", name=op.f('ck_sources_kind_allowed')),
    sa.CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name=op.f('ck_sources_slug_format')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sources')),
    sa.UniqueConstraint('slug', name=op.f('uq_sources_slug'))
    )
    op.create_geospatial_table('events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('dataset', sa.String(length=64), server_default=sa.text("'frontline'"), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('sub_event_type', sa.Text(), nullable=True),
    sa.Column('actors', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('fatalities', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('occurred_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('during', postgresql.TSTZRANGE(), sa.Computed("tstzrange(occurred_at, COALESCE(occurred_until, occurred_at), '[]')", persisted=True), nullable=False),
    sa.Column('time_precision', sa.String(length=8), server_default=sa.text("'day'"), nullable=False),
    sa.Column('place_id', sa.BigInteger(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('location_precision', sa.String(length=12), server_default=sa.text("'settlement'"), nullable=False),
    sa.Column('verification', sa.String(length=12), server_default=sa.text("'unverified'"), nullable=False),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("event_type IN ('battle', 'ground_operation', 'incursion', 'shelling', 'airstrike', 'missile_strike', 'drone_strike', 'explosion', 'territorial_change', 'statement', 'air_raid_alert', 'violence_against_civilians', 'protest', 'other')", name=op.f('ck_events_event_type_allowed')),
    sa.CheckConstraint("location_precision IN ('exact', 'near', 'settlement', 'district', 'region', 'country')", name=op.f('ck_events_location_precision_allowed')),
    sa.CheckConstraint("time_precision IN ('minute', 'hour', 'day', 'week', 'month', 'year')", name=op.f('ck_events_time_precision_allowed')),
    sa.CheckConstraint("verification IN ('unverified', 'claimed', 'disputed', 'confirmed', 'refuted')", name=op.f('ck_events_verification_allowed')),
    sa.CheckConstraint('ST_SRID(geom) = 4326 AND ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90', name=op.f('ck_events_geom_wgs84')),
    sa.CheckConstraint('fatalities >= 0', name=op.f('ck_events_fatalities_not_negative')),
    sa.CheckConstraint('occurred_until >= occurred_at', name=op.f('ck_events_time_span_ordered')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_events_version_positive')),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_events_place_id_places'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('dataset', 'external_id', name=op.f('uq_events_dataset_external_id'))
    )
    op.create_index('ix_events_during', 'events', ['during'], unique=False, postgresql_using='gist')
    op.create_index('ix_events_geom_during', 'events', ['geom', 'during'], unique=False, postgresql_using='gist')
    op.create_index('ix_events_occurred_at_id', 'events', ['occurred_at', 'id'], unique=False)
    op.create_index('ix_events_place_id', 'events', ['place_id'], unique=False)
    op.create_index('ix_events_updated_at', 'events', ['updated_at'], unique=False)
    op.create_table('place_names',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('place_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=16), nullable=False),
    sa.Column('name_key', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_place_names_place_id_places'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_place_names')),
    sa.UniqueConstraint('place_id', 'name', 'lang', name=op.f('uq_place_names_place_id_name_lang'))
    )
    op.create_index('ix_place_names_name_key', 'place_names', ['name_key'], unique=False)
    op.create_index('ix_place_names_name_key_trgm', 'place_names', ['name_key'], unique=False, postgresql_using='gin', postgresql_ops={'name_key': 'gin_trgm_ops'})
    op.create_table('event_revisions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('changed_by', sa.Text(), nullable=False),
    sa.Column('operation', sa.String(length=8), nullable=False),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint("operation IN ('create', 'update', 'delete', 'restore')", name=op.f('ck_event_revisions_operation_allowed')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_revisions_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_revisions')),
    sa.UniqueConstraint('event_id', 'version', name=op.f('uq_event_revisions_event_id_version'))
    )
    op.create_index('ix_event_revisions_changed_at', 'event_revisions', ['changed_at'], unique=False)
    op.create_table('event_sources',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.BigInteger(), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stance', sa.String(length=10), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("stance IN ('reports', 'claims', 'confirms', 'denies', 'disputes')", name=op.f('ck_event_sources_stance_allowed')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_sources_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_event_sources_source_id_sources'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_sources')),
    sa.UniqueConstraint('event_id', 'source_id', 'url', name=op.f('uq_event_sources_event_id_source_id_url'))
    )
    op.create_index('ix_event_sources_source_id', 'event_sources', ['source_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_event_sources_source_id', table_name='event_sources')
    op.drop_table('event_sources')
    op.drop_index('ix_event_revisions_changed_at', table_name='event_revisions')
    op.drop_table('event_revisions')
    op.drop_index('ix_place_names_name_key_trgm', table_name='place_names', postgresql_using='gin', postgresql_ops={'name_key': 'gin_trgm_ops'})
    op.drop_index('ix_place_names_name_key', table_name='place_names')
    op.drop_table('place_names')
    op.drop_index('ix_events_updated_at', table_name='events')
    op.drop_index('ix_events_place_id', table_name='events')
    op.drop_index('ix_events_occurred_at_id', table_name='events')
    op.drop_index('ix_events_geom_during', table_name='events', postgresql_using='gist')
    op.drop_index('ix_events_during', table_name='events', postgresql_using='gist')
    op.drop_geospatial_table('events')
    op.drop_table('sources')
    op.drop_index('ix_places_parent_id', table_name='places')
    op.drop_geospatial_index('ix_places_geom', table_name='places', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_index('ix_places_boundary', table_name='places', postgresql_using='gist', column_name='boundary')
    op.drop_geospatial_table('places')
    op.drop_table('api_keys')
