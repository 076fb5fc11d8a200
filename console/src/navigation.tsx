import { Link } from '@fluentui/react-components';
import { createContext, useContext, type ReactNode } from 'react';

// In-app links: a real href (open in a new tab, copy the address) that moves within the page
// without reloading it, through the App's navigate.

export const NavigationContext = createContext<(to: string) => void>((to) => location.assign(to));

export const useNavigate = () => useContext(NavigationContext);

export function NavLink({ to, children, current, className }: { to: string; children: ReactNode; current?: boolean; className?: string }) {
  const navigate = useNavigate();
  return (
    <Link
      href={to}
      {...(className ? { className } : {})}
      {...(current ? { 'aria-current': 'page' as const } : {})}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </Link>
  );
}
