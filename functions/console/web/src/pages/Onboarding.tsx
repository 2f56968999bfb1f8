import { useState } from 'react';
import { Link } from 'wouter';
import * as api from '../api';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { Onboarding as OnboardingData, OnboardingStep } from '../types';
import { GuardedButton, Loading, Notice, ProblemMessage, Progress, formatDateTime, sentence } from '../components/ui';

// Where each step's work is done.
const stepLinks: Record<string, { to: string; label: string }> = {
  'organization-profile': { to: '/settings', label: 'Go to Settings' },
  'invite-platform-users': { to: '/platform-users', label: 'Go to Platform users' },
  'connect-m365': { to: '/connections', label: 'Go to Connections' },
  'connect-psa': { to: '/connections', label: 'Go to Connections' },
  'add-customers': { to: '/customers', label: 'Go to Customers' },
  'company-users': { to: '/customers', label: "Go to a customer's Users tab" },
};

const statusWords: Record<OnboardingStep['status'], string> = {
  'not-started': 'Not started',
  'in-progress': 'In progress',
  complete: 'Complete',
};

// Onboarding: the checklist of GET /api/onboarding. Steps complete by themselves once
// the work is seen ("derived") or only with Mark Complete ("manual"); any step may be
// marked complete, and a mark can be reopened.
export function Onboarding() {
  const s = useSession();
  const o = useLoad((signal) => api.get<OnboardingData>('/api/onboarding', { signal }), [s.orgId]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  if (o.error) return <ProblemMessage error={o.error} onRetry={o.reload} />;
  if (!o.data) return <Loading what="the onboarding checklist" />;
  const d = o.data;
  const mark = async (st: OnboardingStep, action: 'complete' | 'reopen') => {
    setBusy(st.step);
    setError(null);
    setNotice('');
    try {
      o.setData(await api.post<OnboardingData>(`/api/onboarding/steps/${encodeURIComponent(st.step)}/${action}`));
      setNotice(action === 'complete' ? `${st.title}: marked complete.` : `${st.title}: reopened.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <section>
      <h1>Onboarding</h1>
      <Progress label="Steps complete" done={d.completed} total={d.total} />
      <Notice text={notice} />
      <ProblemMessage error={error} />
      <ol className="checklist">
        {d.steps.map((st) => (
          <li key={st.step} className={`checklist-step status-${st.status}`}>
            <div className="checklist-head">
              <h2 id={`step-${st.step}`}>{st.title}</h2>
              <span className={`badge ${st.status === 'complete' ? 'health-healthy' : st.status === 'in-progress' ? 'health-warning' : ''}`}>{statusWords[st.status]}</span>
            </div>
            {/* A marked step's description says who marked it; the date is added here. */}
            {st.marked ? (
              <p>
                Marked complete by {st.marked.completedBy} on {formatDateTime(st.marked.completedAt)}.
              </p>
            ) : (
              <p>{sentence(st.description)}</p>
            )}
            {st.completion === 'manual' && !st.marked && <p className="muted">This step requires manual completion: mark it complete when you have finished.</p>}
            <div className="actions">
              <Link className="btn btn-small" href={stepLinks[st.step]?.to ?? '/'}>
                {stepLinks[st.step]?.label ?? 'Open'}
              </Link>
              {st.marked ? (
                <GuardedButton need="platform-settings" className="btn btn-small" aria-describedby={`step-${st.step}`} isPending={busy === st.step} onPress={() => mark(st, 'reopen')}>
                  Reopen
                </GuardedButton>
              ) : (
                st.status !== 'complete' && (
                  <GuardedButton need="platform-settings" className="btn btn-small btn-primary" aria-describedby={`step-${st.step}`} isPending={busy === st.step} onPress={() => mark(st, 'complete')}>
                    Mark Complete
                  </GuardedButton>
                )
              )}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
