import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { conflict, invalid, notFound } from '../../core/errors.js';
import { isEventTypeName } from '../../core/event-types.js';
import type { EventType } from '../../core/model.js';
import { adminOnly } from '../auth.js';
import type { ApiContext } from '../context.js';
import { eventTypeJson, pageJson } from '../presenters.js';
import { AnyJson, errorResponses, ListQuery, listOf, Nullable, Text } from '../schemas.js';

const EventTypeJson = Type.Object({
  name: Type.String(),
  description: Nullable(Type.String()),
  schema: AnyJson,
  example: AnyJson,
  archived_at: Nullable(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
});

interface EventTypeBody {
  name?: string;
  description?: string | null;
  schema?: unknown;
  example?: unknown;
  archived?: boolean;
}

const Params = Type.Object({ name: Type.String({ maxLength: 200 }) });

function checkSchemaAndExample(ctx: ApiContext, body: EventTypeBody, current: EventType | null): void {
  const schema = body.schema !== undefined ? body.schema : current?.schema;
  if (body.schema !== undefined && body.schema !== null) {
    const problem = ctx.schemas.problem(body.schema);
    if (problem) throw invalid(`schema: not a usable JSON Schema (${problem})`);
  }
  const example = body.example !== undefined ? body.example : current?.example;
  if (schema !== null && schema !== undefined && example !== null && example !== undefined) {
    const check = ctx.schemas.validator(schema);
    if (!check(example)) {
      const e = check.errors?.[0];
      throw invalid(
        `example: does not match the schema at "${e?.instancePath || '/'}": ${e?.message ?? 'invalid'}`,
      );
    }
  }
}

export function eventTypeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: EventTypeBody & { name: string } }>(
    '/v1/event-types',
    {
      preValidation: adminOnly,
      schema: {
        tags: ['event-types'],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 128 }),
            description: Type.Optional(Nullable(Text(1000))),
            schema: Type.Optional(AnyJson),
            example: Type.Optional(AnyJson),
          },
          { additionalProperties: false },
        ),
        response: { 201: EventTypeJson, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (!isEventTypeName(body.name)) {
        throw invalid(
          'name: must be dot-separated segments of letters, digits, "_" or "-", at most 128 chars',
        );
      }
      checkSchemaAndExample(ctx, body, null);
      const now = ctx.clock.now();
      const eventType: EventType = {
        name: body.name,
        description: body.description ?? null,
        schema: body.schema ?? null,
        example: body.example ?? null,
        archivedAt: null,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await ctx.store.createEventType(eventType)))
        throw conflict(`name: event type "${body.name}" already exists`);
      return reply.code(201).send(eventTypeJson(eventType));
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/v1/event-types',
    {
      schema: {
        tags: ['event-types'],
        querystring: Type.Object(ListQuery, { additionalProperties: false }),
        response: { 200: listOf(EventTypeJson), ...errorResponses },
      },
    },
    async (req) =>
      pageJson(
        await ctx.store.listEventTypes({ limit: req.query.limit, cursor: req.query.cursor ?? null }),
        eventTypeJson,
      ),
  );

  // Reading one type is open to any key: the list already shows the whole catalog.
  app.get<{ Params: { name: string } }>(
    '/v1/event-types/:name',
    {
      schema: { tags: ['event-types'], params: Params, response: { 200: EventTypeJson, ...errorResponses } },
    },
    async (req) => {
      const eventType = await ctx.store.getEventType(req.params.name);
      if (!eventType) throw notFound('event type');
      return eventTypeJson(eventType);
    },
  );

  app.patch<{ Params: { name: string }; Body: EventTypeBody }>(
    '/v1/event-types/:name',
    {
      preValidation: adminOnly,
      schema: {
        tags: ['event-types'],
        params: Params,
        body: Type.Object(
          {
            description: Type.Optional(Nullable(Text(1000))),
            schema: Type.Optional(AnyJson),
            example: Type.Optional(AnyJson),
            archived: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: EventTypeJson, ...errorResponses },
      },
    },
    async (req) => {
      const current = await ctx.store.getEventType(req.params.name);
      if (!current) throw notFound('event type');
      checkSchemaAndExample(ctx, req.body, current);
      const { archived, ...rest } = req.body;
      const patch: Partial<EventType> = {
        description: rest.description,
        schema: rest.schema,
        example: rest.example,
      };
      if (archived !== undefined)
        patch.archivedAt = archived ? (current.archivedAt ?? ctx.clock.now()) : null;
      const updated = await ctx.store.updateEventType(req.params.name, patch, ctx.clock.now());
      if (!updated) throw notFound('event type');
      return eventTypeJson(updated);
    },
  );

  // Delete archives: publishing the type is refused from now on; subscriptions stay.
  app.delete<{ Params: { name: string } }>(
    '/v1/event-types/:name',
    { preValidation: adminOnly, schema: { tags: ['event-types'], params: Params, response: errorResponses } },
    async (req, reply) => {
      const current = await ctx.store.getEventType(req.params.name);
      if (!current) throw notFound('event type');
      if (current.archivedAt === null) {
        await ctx.store.updateEventType(req.params.name, { archivedAt: ctx.clock.now() }, ctx.clock.now());
      }
      return reply.code(204).send();
    },
  );
}
