import { useState, type ReactNode } from 'react';
import {
  Button,
  Dialog,
  FieldError as AriaFieldError,
  Heading,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Menu,
  MenuItem,
  MenuTrigger,
  Modal,
  ModalOverlay,
  OverlayArrow,
  Popover,
  ProgressBar,
  Select,
  SelectValue,
  Text,
  TextArea,
  TextField,
  Tooltip,
  TooltipTrigger,
  type ButtonProps,
  type TextFieldProps,
} from 'react-aria-components';
import * as api from '../api';
import { ApiError, advice } from '../api';
import { useOptionalSession } from '../session';
import type { Permission } from '../permissions';

// The words of seed 003 for what a viewer's disabled buttons say.
export const VIEW_ONLY = 'You have view-only access to this organization.';

// ProblemMessage shows an API error as sentences: the API's title and detail, each
// field error under its field's name, and what to do next. Never the raw body.
export function ProblemMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  const title = e ? titleOf(e) : 'Something went wrong';
  const detail = e ? e.detail : String((error as Error)?.message ?? error);
  const hint = e ? advice(e) : '';
  return (
    <div role="alert" className="problem">
      <strong>{title}</strong>
      {detail && detail !== title && e?.code !== 'validation' && <p>{sentence(detail)}</p>}
      {e && e.fields.length > 0 && (
        <ul>
          {e.fields.map((f) => (
            <li key={f.field + f.message}>
              <span className="field-name">{fieldLabel(f.field)}</span>: {f.message}
            </li>
          ))}
        </ul>
      )}
      {hint && <p className="hint">{hint}</p>}
      {onRetry && (
        <Button className="btn btn-small" onPress={onRetry}>
          Try again
        </Button>
      )}
    </div>
  );
}

// Many problems' titles are the HTTP status text ("Conflict"); their code says more.
const statusTexts = new Set([
  'Bad Request', 'Unauthorized', 'Forbidden', 'Not Found', 'Conflict', 'Precondition Failed', 'Too Many Requests', 'Service Unavailable',
]);

function titleOf(e: ApiError): string {
  if (e.code === 'validation') return 'Some fields need correcting';
  if (statusTexts.has(e.title) && e.code) return capitalize(e.code.replace(/-/g, ' '));
  return e.title;
}

function capitalize(s: string) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// sentence writes the API's lower-case phrases ("the tenant was not found") as sentences.
export function sentence(s: string): string {
  const t = s.trim();
  return t ? capitalize(t) + (/[.!?)]$/.test(t) ? '' : '.') : '';
}

// fieldLabel turns "tenantAccess.tenantIds[0]" into "Tenant access, tenant ids 1".
export function fieldLabel(field: string): string {
  return capitalize(
    field
      .replace(/\[(\d+)\]/g, (_, i) => ` ${Number(i) + 1}`)
      .split('.')
      .map((p) => p.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase())
      .join(', '),
  );
}

// fieldErrorOf is the API's message for one field, to show under its input.
export function fieldErrorOf(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  return error.fields.find((f) => f.field === field)?.message;
}

interface GuardedProps extends ButtonProps {
  need: Permission;
  // allowed overrides the session's answer for need: the client portal, which has no
  // MSP session, decides by the company role.
  allowed?: boolean;
  children: ReactNode;
}

// GuardedButton is a create or settings button: for a role without the permission it
// is disabled (aria-disabled, so it can still be focused and its tooltip read) and
// says why.
export function GuardedButton({ need, allowed: allowedProp, children, className, onPress, ...rest }: GuardedProps) {
  const s = useOptionalSession();
  const allowed = allowedProp ?? (s ? s.can(need) : false);
  if (allowed) {
    return (
      <Button className={className ?? 'btn btn-primary'} onPress={onPress} {...rest}>
        {children}
      </Button>
    );
  }
  const why = s?.role === 'Read-Only' ? VIEW_ONLY : `Your role${s ? ` (${s.role})` : ''} does not allow this.`;
  return (
    <TooltipTrigger delay={0}>
      <Button className={(className ?? 'btn btn-primary') + ' is-disabled'} aria-disabled="true" aria-description={why} {...rest}>
        {children}
      </Button>
      <Tooltip className="tooltip" placement="bottom">
        <OverlayArrow>
          <svg width={8} height={8} viewBox="0 0 8 8" aria-hidden="true">
            <path d="M0 0 L4 4 L8 0" />
          </svg>
        </OverlayArrow>
        {why}
      </Tooltip>
    </TooltipTrigger>
  );
}

interface FieldProps extends Omit<TextFieldProps, 'children'> {
  label: string;
  description?: string;
  errorMessage?: string;
  multiline?: boolean;
  placeholder?: string;
}

// Field is a labelled text input with its description and error.
export function Field({ label, description, errorMessage, multiline, placeholder, ...rest }: FieldProps) {
  return (
    // aria validation: the API's error marks the field without blocking the next
    // submit, which native validation would until the value changed.
    <TextField className="field" validationBehavior="aria" isInvalid={!!errorMessage || undefined} {...rest}>
      <Label>{label}</Label>
      {multiline ? <TextArea placeholder={placeholder} rows={3} /> : <Input placeholder={placeholder} />}
      {description && <Text slot="description">{description}</Text>}
      <AriaFieldError>{errorMessage}</AriaFieldError>
    </TextField>
  );
}

// FormDialog is a modal with a title, a form, its error and its buttons. submit
// resolves to close the dialog; an error stays shown in it.
export function FormDialog({
  title,
  submitLabel,
  isOpen,
  onOpenChange,
  submit,
  children,
  error,
  setError,
  onReset,
}: {
  title: string;
  submitLabel: string;
  isOpen: boolean;
  onOpenChange: (open: boolean) => void;
  // onReset runs when the dialog closes, to empty its form.
  onReset?: () => void;
  submit: () => Promise<void | boolean>;
  children: ReactNode;
  error: unknown;
  setError: (e: unknown) => void;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <ModalOverlay
      className="modal-overlay"
      isOpen={isOpen}
      onOpenChange={(open) => {
        onOpenChange(open);
        if (!open) {
          setError(null);
          onReset?.();
        }
      }}
      isDismissable
    >
      <Modal className="modal">
        <Dialog className="dialog">
          {({ close }) => (
            <form
              onSubmit={async (ev) => {
                ev.preventDefault();
                setBusy(true);
                setError(null);
                try {
                  // false keeps the dialog open, to show an answer in it.
                  if ((await submit()) !== false) close();
                } catch (e) {
                  setError(e);
                } finally {
                  setBusy(false);
                }
              }}
            >
              <Heading slot="title">{title}</Heading>
              <div className="dialog-body">{children}</div>
              <ProblemMessage error={error} />
              <div className="dialog-actions">
                <Button className="btn" onPress={close}>
                  Cancel
                </Button>
                <Button className="btn btn-primary" type="submit" isPending={busy}>
                  {busy ? 'Working…' : submitLabel}
                </Button>
              </div>
            </form>
          )}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

export function Progress({ label, done, total }: { label: string; done: number; total: number }) {
  const indeterminate = total <= 0;
  return (
    <ProgressBar className="progress" value={indeterminate ? undefined : done} maxValue={total || 1} isIndeterminate={indeterminate}>
      {({ valueText }) => (
        <>
          <Label>{label}</Label>
          <span className="value">{indeterminate ? 'Starting…' : `${done} of ${total} (${valueText})`}</span>
          <div className="bar">
            <div className="fill" style={{ width: indeterminate ? '30%' : `${(100 * done) / (total || 1)}%` }} />
          </div>
        </>
      )}
    </ProgressBar>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <ProgressBar className="loading" isIndeterminate aria-label={`Loading ${what}`}>
      <span>Loading {what}…</span>
    </ProgressBar>
  );
}

export function formatDate(iso?: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatDateTime(iso?: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function HealthBadge({ health }: { health: string }) {
  const label = { healthy: 'Healthy', warning: 'Warning', critical: 'Critical', unknown: 'Unknown' }[health] ?? health;
  return <span className={`badge health-${health}`}>{label}</span>;
}

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  // num right-aligns a number column; hideHeader keeps the header for screen readers only.
  num?: boolean;
  hideHeader?: boolean;
}

// DataTable is a plain, labelled HTML table that scrolls sideways on narrow screens and
// says what an empty list means.
export interface DataTableProps<T> {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  empty: string;
}

export function DataTable<T>({ caption, columns, rows, rowKey, empty }: DataTableProps<T>) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" className={c.num ? 'num' : undefined}>
                {c.hideHeader ? <span className="visually-hidden">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={rowKey(r)}>
              {columns.map((c) => (
                <td key={c.header} className={c.num ? 'num' : undefined}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={columns.length} className="empty">
                {empty}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

export interface Option {
  id: string;
  label: string;
  detail?: string;
}

// SelectField is a labelled single choice from a list.
export function SelectField({
  label,
  options,
  value,
  onChange,
  placeholder,
  isRequired,
  emptyText,
}: {
  label: string;
  options: Option[];
  value: string | null;
  onChange: (id: string) => void;
  placeholder?: string;
  isRequired?: boolean;
  emptyText?: string;
}) {
  return (
    <Select className="field" selectedKey={value} onSelectionChange={(k) => onChange(String(k))} isRequired={isRequired}>
      <Label>{label}</Label>
      <Button className="select-button">
        <SelectValue>{({ isPlaceholder, defaultChildren }) => (isPlaceholder ? placeholder ?? 'Choose…' : defaultChildren)}</SelectValue>
        <span aria-hidden="true">▾</span>
      </Button>
      <Popover className="popover">
        <ListBox className="listbox" items={options} renderEmptyState={() => <p className="muted">{emptyText ?? 'Nothing to choose from.'}</p>}>
          {(o) => (
            <ListBoxItem id={o.id} className="listbox-item" textValue={o.label}>
              {o.label} {o.detail && <span className="muted">{o.detail}</span>}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </Select>
  );
}

// usePages keeps the cursors of the pages seen, so that a list can go back as well as on.
export function usePages() {
  const [cursors, setCursors] = useState<string[]>([]);
  return {
    cursor: cursors[cursors.length - 1] as string | undefined,
    hasPrevious: cursors.length > 0,
    previous: () => setCursors((c) => c.slice(0, -1)),
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
    reset: () => setCursors([]),
  };
}

export function Pager({
  pages,
  nextCursor,
  labels = ['Previous page', 'Next page'],
}: {
  pages: ReturnType<typeof usePages>;
  nextCursor?: string;
  labels?: [string, string];
}) {
  return (
    <div className="pager">
      <Button className="btn btn-small" isDisabled={!pages.hasPrevious} onPress={pages.previous}>
        {labels[0]}
      </Button>
      <Button className="btn btn-small" isDisabled={!nextCursor} onPress={() => nextCursor && pages.next(nextCursor)}>
        {labels[1]}
      </Button>
    </div>
  );
}

export function Notice({ text }: { text: string }) {
  if (!text) return null;
  return (
    <p className="success" role="status">
      {text}
    </p>
  );
}

export function Stat({ label, value }: { label: string; value: number | string }) {
  return (
    <div className="card stat">
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
    </div>
  );
}

// ExportMenu downloads path as CSV or Excel (format=csv|xlsx) with the list's query.
export function ExportMenu({ path, query, name, onError }: { path: string; query: Record<string, string | boolean | undefined>; name: string; onError: (e: unknown) => void }) {
  return (
    <MenuTrigger>
      <Button className="btn">Export ▾</Button>
      <Popover className="popover">
        <Menu className="menu" aria-label="Export format" onAction={(k) => api.download(path, { ...query, format: String(k) }, `${name}.${String(k)}`).catch(onError)}>
          <MenuItem id="csv" className="menu-item">
            CSV
          </MenuItem>
          <MenuItem id="xlsx" className="menu-item">
            Excel
          </MenuItem>
        </Menu>
      </Popover>
    </MenuTrigger>
  );
}

// ListPanel is a list with its create button above it: the button (guarded by need),
// the error of a row's action, the list's own error with a retry, then the table.
export function ListPanel<T>({
  need,
  allowed,
  addLabel,
  onAdd,
  rowError,
  list,
  extra,
  ...table
}: {
  need: Permission;
  allowed?: boolean;
  addLabel: string;
  onAdd: () => void;
  rowError: unknown;
  list: { data?: api.Page<T>; error: unknown; reload: () => void };
  // extra: more buttons beside the create button.
  extra?: ReactNode;
} & Omit<DataTableProps<T>, 'rows'>) {
  return (
    <>
      <div className="actions">
        <GuardedButton need={need} allowed={allowed} onPress={onAdd}>
          {addLabel}
        </GuardedButton>
        {extra}
      </div>
      <ProblemMessage error={rowError} />
      <LoadedTable list={list} what={table.caption.toLowerCase()} {...table} />
    </>
  );
}

// LoadedTable is a loaded list's table: its error with a retry, a loading line until the
// first page is in, then the table.
export function LoadedTable<T>({
  list,
  what,
  ...table
}: { list: { data?: api.Page<T>; error: unknown; reload: () => void }; what: string } & Omit<DataTableProps<T>, 'rows'>) {
  return (
    <>
      <ProblemMessage error={list.error} onRetry={list.reload} />
      {!list.data && !list.error && <Loading what={what} />}
      {list.data && <DataTable rows={list.data.items} {...table} />}
    </>
  );
}

// TenantSelect picks one of the tenants loaded (with the load's error, if any).
export function TenantSelect({
  tenants,
  error,
  value,
  onChange,
  emptyText,
}: {
  tenants: { id: string; displayName: string; primaryDomain: string }[];
  error: unknown;
  value: string | null;
  onChange: (id: string) => void;
  emptyText: string;
}) {
  return (
    <>
      <ProblemMessage error={error} />
      <SelectField
        label="Tenant"
        placeholder="Pick a tenant"
        options={tenants.map((t) => ({ id: t.id, label: t.displayName, detail: t.primaryDomain }))}
        value={value}
        onChange={onChange}
        isRequired
        emptyText={emptyText}
      />
    </>
  );
}

// InlineSelect changes one value of a table row in place where editable, and shows it
// as a badge otherwise.
export function InlineSelect({
  label,
  editable,
  options,
  value,
  onChange,
}: {
  label: string;
  editable: boolean;
  options: readonly string[];
  value: string;
  onChange: (v: string) => void;
}) {
  if (!editable) return <span className="badge">{value}</span>;
  return (
    <Select aria-label={label} className="inline-select" selectedKey={value} onSelectionChange={(k) => k !== value && onChange(String(k))}>
      <Button className="select-button">
        <SelectValue />
        <span aria-hidden="true">▾</span>
      </Button>
      <Popover className="popover">
        <ListBox className="listbox" items={options.map((id) => ({ id }))}>
          {(o) => (
            <ListBoxItem id={o.id} className="listbox-item">
              {o.id}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </Select>
  );
}
